namespace Coalesce;

/// <summary>
/// Implemented by values that know how much memory they hold, so <see cref="MemoCacheOptions.MaxBytes"/> and
/// <see cref="CacheStats.ApproximateBytes"/> can count them.
/// </summary>
public interface ICacheSizeAware
{
    /// <summary>
    /// The bytes the value holds: every object and array it owns, headers included. The cache adds the key, the tags
    /// and its own bookkeeping. Read when the value is stored (once more if it is rejected as too large); a negative
    /// figure counts as zero.
    /// </summary>
    long ApproximateSize { get; }
}
