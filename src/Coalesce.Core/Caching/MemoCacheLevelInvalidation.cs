namespace Coalesce;

/// <summary>
/// What a <see cref="MemoCache"/> is about to remove, told to its <see cref="IMemoCacheLevel"/>: one key, some tags, or
/// everything (a pattern invalidation or a clear: a level cannot match patterns in general, so it drops what it holds).
/// Keys and tags carry the cache's namespace, as in the level's other calls.
/// </summary>
public sealed class MemoCacheLevelInvalidation
{
    private MemoCacheLevelInvalidation(string? key, IReadOnlyCollection<string>? tags)
    {
        Key = key;
        Tags = tags;
    }

    /// <summary>The one key that goes, or <see langword="null"/>.</summary>
    public string? Key { get; }

    /// <summary>The tags whose entries go, or <see langword="null"/>.</summary>
    public IReadOnlyCollection<string>? Tags { get; }

    /// <summary>Whether everything goes (a pattern invalidation or a clear).</summary>
    public bool IsEverything => Key is null && Tags is null;

    internal static MemoCacheLevelInvalidation ForKey(string storeKey) => new(storeKey, null);

    internal static MemoCacheLevelInvalidation ForTags(IReadOnlyCollection<string> storeTags) => new(null, storeTags);

    internal static MemoCacheLevelInvalidation Everything { get; } = new(null, null);
}
