namespace Coalesce.StackExchangeRedis;

/// <summary>The Redis level's counters; one instance per app, read by the stats snapshot and the meter.</summary>
internal sealed class RedisCounters
{
    private long _l2Hits;
    private long _l2Misses;
    private long _l2Writes;
    private long _l2Refused;
    private long _remoteWaits;
    private long _published;
    private long _received;
    private long _deferred;
    private long _ackTimeouts;
    private long _errors;

    public long L2Hits => Volatile.Read(ref _l2Hits);
    public long L2Misses => Volatile.Read(ref _l2Misses);
    public long L2Writes => Volatile.Read(ref _l2Writes);
    public long L2Refused => Volatile.Read(ref _l2Refused);
    public long RemoteWaits => Volatile.Read(ref _remoteWaits);
    public long InvalidationsPublished => Volatile.Read(ref _published);
    public long InvalidationsReceived => Volatile.Read(ref _received);
    public long InvalidationsDeferred => Volatile.Read(ref _deferred);
    public long AckTimeouts => Volatile.Read(ref _ackTimeouts);
    public long Errors => Volatile.Read(ref _errors);

    public void L2Hit() => Interlocked.Increment(ref _l2Hits);
    public void L2Miss() => Interlocked.Increment(ref _l2Misses);
    public void L2Write() => Interlocked.Increment(ref _l2Writes);
    public void L2Refuse() => Interlocked.Increment(ref _l2Refused);

    /// <summary>A request waited for another instance's leader (cross-instance single-flight).</summary>
    public void RemoteWait() => Interlocked.Increment(ref _remoteWaits);

    public void Published() => Interlocked.Increment(ref _published);
    public void Received() => Interlocked.Increment(ref _received);
    public void Deferred() => Interlocked.Increment(ref _deferred);
    public void AckTimeout() => Interlocked.Increment(ref _ackTimeouts);
    public void Error() => Interlocked.Increment(ref _errors);
}
