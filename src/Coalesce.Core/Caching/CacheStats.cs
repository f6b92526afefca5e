namespace Coalesce;

/// <summary>A snapshot of a <see cref="MemoCache"/>'s figures.</summary>
/// <param name="Hits">Reads that found a live entry.</param>
/// <param name="Misses">Reads that found none (including expired entries).</param>
/// <param name="Size">Entries held now.</param>
/// <param name="Evictions">Entries dropped to stay within <see cref="MemoCacheOptions.MaxEntries"/>.</param>
/// <param name="Expirations">Entries dropped because their time to live ran out.</param>
/// <param name="ApproximateBytes">
/// The approximate memory held by keys and by values whose size can be known: <see cref="string"/>,
/// <c>byte[]</c>, <see cref="ReadOnlyMemory{T}"/> of bytes and <see cref="ICacheSizeAware"/> values.
/// Other values count their key only.
/// </param>
public readonly record struct CacheStats(long Hits, long Misses, long Size, long Evictions, long Expirations, long ApproximateBytes)
{
    /// <summary>Hits / (Hits + Misses), from 0 to 1; 0 when there were no reads.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
}
