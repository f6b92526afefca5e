namespace Coalesce;

/// <summary>Data for <see cref="MemoCache.Evicted"/>.</summary>
/// <param name="key">The key, without the cache's namespace.</param>
/// <param name="reason">Why the entry went.</param>
public sealed class CacheEvictedEventArgs(string key, CacheEvictionReason reason) : EventArgs
{
    /// <summary>The key, without the cache's namespace.</summary>
    public string Key { get; } = key;

    /// <summary>Why the entry went.</summary>
    public CacheEvictionReason Reason { get; } = reason;
}
