namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>A <see cref="RedisFactAttribute"/> with rows: skipped or failed the same way when <c>redis-server</c> is missing.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RedisTheoryAttribute : TheoryAttribute
{
    public RedisTheoryAttribute()
    {
        if (RedisServerInstaller.ServerPath is null && !RedisServerInstaller.IsCi)
        {
            Skip = RedisServerInstaller.MissingMessage;
        }
    }
}
