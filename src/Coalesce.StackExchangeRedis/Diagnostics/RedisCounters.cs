namespace Coalesce.StackExchangeRedis;

/// <summary>The Redis level's counters; one instance per app, read by the stats snapshot and the meter.</summary>
internal sealed class RedisCounters
{
    private long _l2Hits;
    private long _l2Misses;
    private long _l2Writes;
    private long _l2Refused;
    private long _remoteWaits;
    private long _leasesWon;
    private long _takeovers;
    private long _fillsPublished;
    private long _fillsReceived;
    private long _passes;
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
    public long LeasesWon => Volatile.Read(ref _leasesWon);
    public long Takeovers => Volatile.Read(ref _takeovers);
    public long FillsPublished => Volatile.Read(ref _fillsPublished);
    public long FillsReceived => Volatile.Read(ref _fillsReceived);
    public long Passes => Volatile.Read(ref _passes);
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

    /// <summary>This instance won a key's lease and runs its execution for every instance.</summary>
    public void LeaseWon() => Interlocked.Increment(ref _leasesWon);

    /// <summary>A waiting instance won the lease: the holder released it without a result, or its lease lapsed.</summary>
    public void Takeover() => Interlocked.Increment(ref _takeovers);

    /// <summary>A lease ended with a result for the waiting instances (stored in the second level, or a fill).</summary>
    public void FillPublished() => Interlocked.Increment(ref _fillsPublished);

    /// <summary>A wait here was ended by a notice that another instance's result is ready.</summary>
    public void FillReceived() => Interlocked.Increment(ref _fillsReceived);

    /// <summary>A lease ended with a response that must not be shared (hit-for-pass).</summary>
    public void Pass() => Interlocked.Increment(ref _passes);

    public void Published() => Interlocked.Increment(ref _published);
    public void Received() => Interlocked.Increment(ref _received);
    public void Deferred() => Interlocked.Increment(ref _deferred);
    public void AckTimeout() => Interlocked.Increment(ref _ackTimeouts);
    public void Error() => Interlocked.Increment(ref _errors);
}
