namespace Coalesce;

/// <summary>Invalidation by key, tag and pattern: the work in progress is told first, then the entries go.</summary>
public sealed partial class MemoCache
{
    /// <summary>Removes one entry.</summary>
    /// <returns><see langword="true"/> if a live entry went.</returns>
    public ValueTask<bool> InvalidateAsync(string key, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ct.ThrowIfCancellationRequested();
        BeginInvalidation(CacheInvalidation.ForKey(key));
        var removed = _store.Remove(StoreKey(key));
        if (removed)
        {
            RaiseInvalidated([key]);
        }

        return new ValueTask<bool>(removed);
    }

    /// <summary>Removes every entry stored with <paramref name="tag"/>.</summary>
    /// <returns>How many entries went.</returns>
    public ValueTask<int> InvalidateByTagAsync(string tag, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tag);
        return InvalidateByTagsAsync([tag], ct);
    }

    /// <summary>Removes every entry stored with any of <paramref name="tags"/>.</summary>
    /// <returns>How many entries went.</returns>
    public ValueTask<int> InvalidateByTagsAsync(IEnumerable<string> tags, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(tags);
        ct.ThrowIfCancellationRequested();
        return new ValueTask<int>(InvalidateTags(tags));
    }

    /// <summary>Removes every entry whose key matches a glob pattern.</summary>
    /// <param name="globPattern">
    /// <c>*</c> any run of characters, <c>?</c> one character, <c>[abc]</c>, <c>[a-z]</c>, <c>[!a-z]</c> classes and
    /// <c>\</c> to escape. Matched ordinally against the whole key (without namespace).
    /// </param>
    /// <param name="ct">Checked before the work.</param>
    /// <returns>How many entries went.</returns>
    /// <exception cref="ArgumentException">The pattern is malformed.</exception>
    public ValueTask<int> InvalidateByPatternAsync(string globPattern, CancellationToken ct = default)
    {
        var glob = GlobPattern.Parse(globPattern, nameof(globPattern));
        ct.ThrowIfCancellationRequested();
        BeginInvalidation(CacheInvalidation.ForPattern(glob));
        var removed = _store.RemoveWhere(k => OwnsKey(k) && glob.IsMatch(UserKeySpan(k)));
        return new ValueTask<int>(ReportInvalidated(removed));
    }

    internal int InvalidateTags(IEnumerable<string> tags)
    {
        var list = tags as IReadOnlyCollection<string> ?? [.. tags];
        BeginInvalidation(CacheInvalidation.ForTags(list));
        tags = list;
        return ReportInvalidated(_store.RemoveByTags(_prefix is null ? tags : tags.Select(t => _prefix + t)));
    }
}
