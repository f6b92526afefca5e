namespace Coalesce.AspNetCore;

/// <summary>
/// An endpoint's stale figures: responses served past their time to live, and the background refreshes that
/// replace them. Rare next to hits and misses, so plain interlocked counters.
/// </summary>
internal sealed class StaleCounters
{
    private long _whileRevalidating;
    private long _onError;
    private long _refreshes;
    private long _refreshFailures;

    /// <summary>Stale responses served while a refresh renders a fresh one (stale-while-revalidate).</summary>
    public long WhileRevalidating => Volatile.Read(ref _whileRevalidating);

    /// <summary>Stale responses served instead of a failure (stale-if-error).</summary>
    public long OnError => Volatile.Read(ref _onError);

    /// <summary>Background refreshes started.</summary>
    public long Refreshes => Volatile.Read(ref _refreshes);

    /// <summary>Background refreshes that failed, leaving the stale response in place.</summary>
    public long RefreshFailures => Volatile.Read(ref _refreshFailures);

    public void Served(bool onError) => Interlocked.Increment(ref onError ? ref _onError : ref _whileRevalidating);

    public void RefreshStarted() => Interlocked.Increment(ref _refreshes);

    public void RefreshFailed() => Interlocked.Increment(ref _refreshFailures);

    public void Reset()
    {
        Interlocked.Exchange(ref _whileRevalidating, 0);
        Interlocked.Exchange(ref _onError, 0);
        Interlocked.Exchange(ref _refreshes, 0);
        Interlocked.Exchange(ref _refreshFailures, 0);
    }
}
