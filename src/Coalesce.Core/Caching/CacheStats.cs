namespace Coalesce;

/// <summary>A snapshot of a <see cref="MemoCache"/>'s figures.</summary>
/// <param name="Hits">Reads that found a live entry.</param>
/// <param name="Misses">Reads that found none (including expired entries).</param>
/// <param name="Size">Entries held now.</param>
/// <param name="Evictions">
/// Entries dropped to stay within <see cref="MemoCacheOptions.MaxEntries"/> or <see cref="MemoCacheOptions.MaxBytes"/>.
/// </param>
/// <param name="Expirations">Entries dropped because their time to live ran out.</param>
/// <param name="ApproximateBytes">
/// The memory the entries hold, as counted against <see cref="MemoCacheOptions.MaxBytes"/>: each entry's key, tags,
/// the cache's bookkeeping, and its value when that size can be known (<see cref="string"/>, <c>byte[]</c>,
/// <see cref="ReadOnlyMemory{T}"/> of bytes and <see cref="ICacheSizeAware"/> values).
/// </param>
public readonly record struct CacheStats(long Hits, long Misses, long Size, long Evictions, long Expirations, long ApproximateBytes)
{
    /// <summary>
    /// Values not stored because they were larger than <see cref="MemoCacheOptions.MaxEntryBytes"/> (or
    /// <see cref="MemoCacheOptions.MaxBytes"/>), since the cache was created.
    /// </summary>
    public long Rejections { get; init; }

    /// <summary>
    /// Reads answered with an entry past its time to live, inside its stale-while-revalidate window, while a
    /// background refresh runs (<see cref="CacheEntryOptions.StaleWhileRevalidate"/>). Also counted in <see cref="Misses"/>.
    /// </summary>
    public long StaleWhileRevalidateHits { get; init; }

    /// <summary>
    /// Fetches that failed and whose callers got the stale entry instead, inside its stale-if-error window
    /// (<see cref="CacheEntryOptions.StaleIfError"/>); one per caller served.
    /// </summary>
    public long StaleIfErrorHits { get; init; }

    /// <summary>
    /// Fetches slower than their <see cref="CacheEntryOptions.SoftTimeout"/> whose callers got the stale entry at the
    /// timeout; one per caller served.
    /// </summary>
    public long SoftTimeoutHits { get; init; }

    /// <summary>Background refreshes started for entries served stale while revalidating.</summary>
    public long Refreshes { get; init; }

    /// <summary>Background refreshes that failed (the stale entry stayed); see <see cref="MemoCache.RefreshFailed"/>.</summary>
    public long RefreshFailures { get; init; }

    /// <summary>Local misses answered from <see cref="MemoCacheOptions.SecondLevel"/>, without running the fetcher.</summary>
    public long SecondLevelHits { get; init; }

    /// <summary>Local misses that <see cref="MemoCacheOptions.SecondLevel"/> could not answer (absent, invalidated, unavailable or unreadable).</summary>
    public long SecondLevelMisses { get; init; }

    /// <summary>Fetched values stored in <see cref="MemoCacheOptions.SecondLevel"/>.</summary>
    public long SecondLevelWrites { get; init; }

    /// <summary>
    /// Fetched values kept in memory only: too large for the level, stale (invalidated while fetched), the level
    /// unavailable, no time to live, or not serializable.
    /// </summary>
    public long SecondLevelSkips { get; init; }

    /// <summary>Hits / (Hits + Misses), from 0 to 1; 0 when there were no reads.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}
