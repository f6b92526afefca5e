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

    /// <summary>Hits / (Hits + Misses), from 0 to 1; 0 when there were no reads.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}
