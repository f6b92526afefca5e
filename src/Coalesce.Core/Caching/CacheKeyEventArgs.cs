namespace Coalesce;

/// <summary>Data for the <see cref="MemoCache"/> events about one key: hit, miss, set and deleted.</summary>
/// <param name="key">The key, without the cache's namespace.</param>
public sealed class CacheKeyEventArgs(string key) : EventArgs
{
    /// <summary>The key, without the cache's namespace.</summary>
    public string Key { get; } = key;
}
