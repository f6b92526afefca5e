namespace Coalesce;

/// <summary>Data for <see cref="MemoCache.Invalidated"/>: one invalidation call and what it removed.</summary>
/// <param name="keys">The keys removed, without the cache's namespace.</param>
public sealed class CacheInvalidatedEventArgs(IReadOnlyList<string> keys) : EventArgs
{
    /// <summary>The keys removed, without the cache's namespace.</summary>
    public IReadOnlyList<string> Keys { get; } = keys;

    /// <summary>How many entries went.</summary>
    public int Count => Keys.Count;
}
