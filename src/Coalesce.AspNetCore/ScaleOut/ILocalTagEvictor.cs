namespace Coalesce.AspNetCore;

/// <summary>
/// Something on this instance that holds tagged results and must drop them when another instance invalidates the
/// tags: the app's <see cref="MemoCache"/> (<see cref="MemoCacheTagEvictor"/>), and whatever else registers one
/// (for example the middleware's in-flight leaders). Every registered evictor is called; one that throws is logged
/// and skipped.
/// </summary>
internal interface ILocalTagEvictor
{
    /// <summary>Drops every local entry carrying any of <paramref name="tags"/>.</summary>
    /// <param name="tags">The tags invalidated.</param>
    /// <param name="seq">The invalidation's seq: entries computed from a start before it are stale.</param>
    /// <param name="cancellationToken">Ends the eviction early; the entries may then stay.</param>
    ValueTask EvictTagsAsync(IReadOnlyCollection<string> tags, long seq, CancellationToken cancellationToken);

    /// <summary>
    /// Drops every local entry: invalidations may have been missed (the log had a gap, the shared store restarted or
    /// rolled back, or this instance could not follow it for a while).
    /// </summary>
    ValueTask EvictAllAsync(CancellationToken cancellationToken);
}
