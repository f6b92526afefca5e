namespace Coalesce.AspNetCore;

/// <summary>
/// Something on this instance that holds results and must drop them when another instance invalidates them: the
/// app's <see cref="MemoCache"/> (<see cref="MemoCacheEvictor"/>), and whatever else registers one. Every registered
/// evictor is called; one that throws is logged and skipped.
/// </summary>
internal interface ILocalEvictor
{
    /// <summary>Drops every local entry covered by any of <paramref name="items"/> (tags, keys, patterns, a clear).</summary>
    /// <param name="items">What was invalidated.</param>
    /// <param name="seq">The invalidation's seq: entries computed from a start before it are stale.</param>
    /// <param name="cancellationToken">Ends the eviction early; the entries may then stay.</param>
    ValueTask EvictAsync(IReadOnlyCollection<InvalidationItem> items, long seq, CancellationToken cancellationToken);

    /// <summary>
    /// Drops every local entry: invalidations may have been missed (the log had a gap, the shared store restarted or
    /// rolled back, or this instance could not follow it for a while).
    /// </summary>
    ValueTask EvictAllAsync(CancellationToken cancellationToken);
}
