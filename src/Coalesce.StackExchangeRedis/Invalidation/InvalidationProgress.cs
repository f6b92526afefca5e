namespace Coalesce.StackExchangeRedis;

/// <summary>
/// How far this instance follows the invalidation stream: the highest seq it has seen, the last seq it applied in
/// order (from the log or while synchronized), the Redis data set (epoch) those seqs belong to, and whether it is
/// synchronized now. Shared by the parts of <see cref="RedisInvalidationBus"/>.
/// </summary>
internal sealed class InvalidationProgress
{
    private long _currentSeq;
    private long _appliedSeq = -1;
    private volatile string? _epoch;
    private volatile bool _synchronized;
    private volatile NotSynchronized? _notSynchronized;
    private SeenPublication? _seen;

    /// <param name="startedAt">When the instance started: it is not synchronized from then until its first synchronization.</param>
    public InvalidationProgress(DateTimeOffset startedAt)
    {
        _notSynchronized = new NotSynchronized(startedAt, "not connected to Redis yet");
    }

    /// <summary>The highest seq seen: this instance's own invalidations, other instances' messages, catch-up.</summary>
    public long CurrentSeq => Volatile.Read(ref _currentSeq);

    /// <summary>The seq up to which every invalidation has been applied here; -1 before the first catch-up.</summary>
    public long AppliedSeq => Volatile.Read(ref _appliedSeq);

    /// <summary>The Redis data set the seqs belong to; <see langword="null"/> before the first catch-up.</summary>
    public string? Epoch
    {
        get => _epoch;
        set => _epoch = value;
    }

    /// <summary>Subscribed, caught up and heartbeating; set by synchronization, cleared when the breaker opens.</summary>
    public bool Synchronized => _synchronized;

    /// <summary>Since when and why this instance is not synchronized; <see langword="null"/> while it is.</summary>
    public NotSynchronized? NotSynchronized => _notSynchronized;

    /// <summary>Synchronization finished: this instance follows invalidations again.</summary>
    public void MarkSynchronized()
    {
        _notSynchronized = null;
        _synchronized = true;
    }

    /// <summary>
    /// This instance stopped following invalidations at <paramref name="now"/>; an earlier, still open lapse keeps its
    /// moment and reason (the first cause is the one worth reporting).
    /// </summary>
    public void MarkNotSynchronized(string reason, DateTimeOffset now)
    {
        _synchronized = false;
        Interlocked.CompareExchange(ref _notSynchronized, new NotSynchronized(now, reason), null);
    }

    /// <summary>Raises <see cref="CurrentSeq"/> to <paramref name="seq"/>; lowers it too when <paramref name="allowBackwards"/>.</summary>
    public void SetSeq(long seq, bool allowBackwards)
    {
        if (allowBackwards)
        {
            Volatile.Write(ref _currentSeq, seq);
        }
        else
        {
            InterlockedMax(ref _currentSeq, seq);
        }
    }

    /// <summary>
    /// The highest publication this instance has seen in this epoch (its own, another instance's message, or the head
    /// found by a catch-up); <see langword="null"/> before any. Catch-up checks that Redis still holds it under its seq.
    /// </summary>
    public SeenPublication? Seen => Volatile.Read(ref _seen);

    /// <summary>Records that seq <paramref name="seq"/> was publication <paramref name="publishId"/>, if it is the highest seen.</summary>
    public void Witness(long seq, string publishId, bool allowBackwards = false)
    {
        var next = new SeenPublication(seq, publishId);
        while (true)
        {
            var current = Volatile.Read(ref _seen);
            if (!allowBackwards && current is not null && current.Seq >= seq)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _seen, next, current) == current)
            {
                return;
            }
        }
    }

    /// <summary>Forgets the publication seen (Redis's history holds none to check against).</summary>
    public void ForgetSeen() => Volatile.Write(ref _seen, null);

    /// <summary>A message was applied while synchronized: every seq up to it is applied.</summary>
    public void Applied(long seq) => InterlockedMax(ref _appliedSeq, seq);

    /// <summary>A catch-up applied (or flushed) everything up to <paramref name="seq"/>.</summary>
    public void CaughtUpTo(long seq) => Volatile.Write(ref _appliedSeq, seq);

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}

/// <summary>Since when this instance is not synchronized, and why (the first cause of the lapse).</summary>
internal sealed record NotSynchronized(DateTimeOffset Since, string Reason);
