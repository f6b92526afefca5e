namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// A test that needs a real <c>redis-server</c>: skipped (with a message naming the Debian package) when none is
/// installed and none can be, except under <c>CI=true</c>, where it runs and fails.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RedisFactAttribute : FactAttribute
{
    public RedisFactAttribute()
    {
        if (RedisServerInstaller.ServerPath is null && !RedisServerInstaller.IsCi)
        {
            Skip = RedisServerInstaller.MissingMessage;
        }
    }
}
