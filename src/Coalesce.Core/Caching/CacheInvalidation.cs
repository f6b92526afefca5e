namespace Coalesce;

/// <summary>
/// What a <see cref="MemoCache"/> is about to remove: entries with some tags, entries matching a pattern, one key,
/// or everything. Handed to <see cref="MemoCache"/>'s internal <c>Invalidating</c> hook <em>before</em> the entries
/// go, so work in progress that would store data read before the invalidation can be told first.
/// </summary>
internal sealed class CacheInvalidation
{
    private readonly GlobPattern? _pattern;

    private CacheInvalidation(IReadOnlyCollection<string>? tags, GlobPattern? pattern, string? key)
    {
        Tags = tags;
        _pattern = pattern;
        Key = key;
    }

    /// <summary>Everything goes.</summary>
    public static CacheInvalidation All { get; } = new(null, null, null);

    /// <summary>The tags whose entries go, or <see langword="null"/> when this is not a tag invalidation.</summary>
    public IReadOnlyCollection<string>? Tags { get; }

    /// <summary>The one key that goes, or <see langword="null"/>.</summary>
    public string? Key { get; }

    /// <summary>The glob pattern (as written) whose keys go, or <see langword="null"/> when this is not a pattern invalidation.</summary>
    public string? Pattern => _pattern?.Text;

    public bool IsAll => Tags is null && _pattern is null && Key is null;

    public static CacheInvalidation ForTags(IReadOnlyCollection<string> tags) => new(tags, null, null);

    public static CacheInvalidation ForPattern(GlobPattern pattern) => new(null, pattern, null);

    public static CacheInvalidation ForKey(string key) => new(null, null, key);

    /// <summary>Whether an entry stored under <paramref name="key"/> with <paramref name="tags"/> would go.</summary>
    public bool Covers(string key, IReadOnlyList<string> tags)
    {
        if (IsAll)
        {
            return true;
        }

        if (Key is not null)
        {
            return string.Equals(Key, key, StringComparison.Ordinal);
        }

        if (_pattern is not null)
        {
            return _pattern.IsMatch(key);
        }

        foreach (var tag in tags)
        {
            foreach (var invalidated in Tags!)
            {
                if (string.Equals(tag, invalidated, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
