namespace Coalesce;

/// <summary>Data for <see cref="MemoCache.Rejected"/>: a value too large to keep.</summary>
/// <param name="key">The key, without the cache's namespace.</param>
/// <param name="size">The entry's size in bytes, as counted against the cache's bound.</param>
/// <param name="limit">The largest entry the cache keeps, in bytes.</param>
public sealed class CacheRejectedEventArgs(string key, long size, long limit) : EventArgs
{
    /// <summary>The key, without the cache's namespace.</summary>
    public string Key { get; } = key;

    /// <summary>
    /// The entry's size in bytes, as counted against <see cref="MemoCacheOptions.MaxBytes"/>: the value, the key, the
    /// tags and the cache's per-entry bookkeeping.
    /// </summary>
    public long Size { get; } = size;

    /// <summary>
    /// The largest entry the cache keeps, in bytes: <see cref="MemoCacheOptions.MaxEntryBytes"/>, or
    /// <see cref="MemoCacheOptions.MaxBytes"/> when that is smaller or the per-entry limit is not set.
    /// </summary>
    public long Limit { get; } = limit;
}
