using Coalesce.StackExchangeRedis;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis level's health check.</summary>
public static class RedisCoalescingHealthChecksBuilderExtensions
{
    /// <summary>The health check's registration name.</summary>
    public const string HealthCheckName = "coalesce-redis";

    /// <summary>
    /// Adds the <c>coalesce-redis</c> check (tags <c>coalesce</c> and <c>redis</c>): healthy while this instance is
    /// connected and follows the other instances' invalidations; degraded while it does not, with since when and why
    /// (it still answers every request, in-process); unhealthy once Redis has not answered for longer than
    /// <see cref="RedisCoalescingOptions.LeaseDuration"/> (10 s by default). Needs <c>AddStackExchangeRedisCoalescing</c>.
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <returns>The builder.</returns>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    public static IHealthChecksBuilder AddCoalescingRedis(this IHealthChecksBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            HealthCheckName,
            static sp => new RedisCoalescingHealthCheck(
                sp.GetService<RedisConnection>() ?? throw new InvalidOperationException(
                    "AddCoalescingRedis() checks the Redis level, which is not registered: call services.AddStackExchangeRedisCoalescing(...) too."),
                sp.GetRequiredService<RedisInvalidationBus>(),
                sp.GetRequiredService<TimeProvider>()),
            failureStatus: null,
            tags: ["coalesce", "redis"]));
    }
}
