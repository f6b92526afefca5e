using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The Redis level's health for this instance: <see cref="HealthStatus.Healthy"/> while it is connected and follows
/// the other instances' invalidations; <see cref="HealthStatus.Degraded"/> while it does not (it still answers every
/// request, in-process, and serves no tagged local copy); the registration's failure status (unhealthy by default)
/// once Redis has not answered for longer than <see cref="RedisCoalescingOptions.LeaseDuration"/>.
/// </summary>
/// <remarks>
/// Why the lease bounds it: the breaker rides out an outage shorter than a lease, and the other instances still wait
/// for this one's executions; past it, they have taken its leases over, and every write on this instance has been
/// answered 503 (with read-your-writes) for that long, so a load balancer should send traffic elsewhere.
/// </remarks>
internal sealed class RedisCoalescingHealthCheck : IHealthCheck
{
    private readonly RedisConnection _connection;
    private readonly RedisInvalidationBus _bus;
    private readonly TimeProvider _time;

    public RedisCoalescingHealthCheck(RedisConnection connection, RedisInvalidationBus bus, TimeProvider time)
    {
        _connection = connection;
        _bus = bus;
        _time = time;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var notSynchronized = _bus.NotSynchronized;
        var unreachableSince = _connection.UnreachableSince;
        var bound = _connection.Options.LeaseDuration;
        var data = new Dictionary<string, object>
        {
            ["connected"] = _connection.IsConnected,
            ["synchronized"] = notSynchronized is null,
            ["breakerOpen"] = _connection.Breaker.IsOpen,
            ["unhealthyAfter"] = bound,
        };
        if (notSynchronized is null)
        {
            return Task.FromResult(HealthCheckResult.Healthy("Connected to Redis and following the other instances' invalidations.", data));
        }

        data["unsynchronizedSince"] = notSynchronized.Since;
        data["reason"] = notSynchronized.Reason;
        if (unreachableSince is { } since)
        {
            data["disconnectedSince"] = since;
            if (_time.GetUtcNow() - since >= bound)
            {
                return Task.FromResult(new HealthCheckResult(
                    context.Registration.FailureStatus,
                    $"Redis has not answered since {since:O}, longer than the lease duration ({bound}): this instance works in-process, answers writes 503 and its leases have lapsed.",
                    data: data));
            }
        }

        return Task.FromResult(HealthCheckResult.Degraded(
            $"Not synchronized with the other instances since {notSynchronized.Since:O} ({notSynchronized.Reason}): requests are answered in-process and tagged local copies are not served.",
            data: data));
    }
}
