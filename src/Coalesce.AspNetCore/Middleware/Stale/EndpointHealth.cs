namespace Coalesce.AspNetCore;

/// <summary>
/// Whether an endpoint with stale windows is failing, the smallest half-open circuit breaker: after a failure the
/// endpoint rests, and meanwhile a stale response inside its stale-if-error window answers without running it and no
/// background refresh starts; once per rest, one request (the probe) tries the endpoint again, and any success ends the
/// rest. So a backend that is down gets about one request per rest from each endpoint, not one per key.
/// </summary>
/// <remarks>Lock-free: one timestamp, 0 while healthy.</remarks>
internal sealed class EndpointHealth
{
    // 0 while healthy; otherwise the monotonic timestamp from which the next probe may try the endpoint.
    private long _retryAt;

    public bool IsHealthy => Volatile.Read(ref _retryAt) == 0;

    /// <summary>
    /// Whether a request may run the endpoint now: always while healthy; while resting, only the one request that
    /// claims the probe once the rest is over (the next probe may come a rest later, should this one never report).
    /// </summary>
    public bool MayTry(long now, long rest)
    {
        var retryAt = Volatile.Read(ref _retryAt);
        return retryAt == 0 || (now >= retryAt && Interlocked.CompareExchange(ref _retryAt, now + rest, retryAt) == retryAt);
    }

    /// <summary>Records a failure; <see langword="true"/> when it ended a healthy spell (worth a warning).</summary>
    public bool Failed(long now, long rest) => Interlocked.Exchange(ref _retryAt, now + rest) == 0;

    /// <summary>Records a success; <see langword="true"/> when it ended a failing spell.</summary>
    public bool Succeeded() => Volatile.Read(ref _retryAt) != 0 && Interlocked.Exchange(ref _retryAt, 0) != 0;
}
