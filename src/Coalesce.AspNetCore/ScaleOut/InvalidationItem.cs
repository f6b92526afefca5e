namespace Coalesce.AspNetCore;

/// <summary>What one part of an invalidation removes.</summary>
internal enum InvalidationKind
{
    /// <summary>Every entry stored with the tag <see cref="InvalidationItem.Value"/>.</summary>
    Tag,

    /// <summary>The entry stored under the key <see cref="InvalidationItem.Value"/>.</summary>
    Key,

    /// <summary>Every entry whose key matches the glob pattern <see cref="InvalidationItem.Value"/>.</summary>
    Pattern,

    /// <summary>Every entry (a clear).</summary>
    All,
}

/// <summary>
/// One part of an invalidation that travels to the other instances: a tag, a key, a glob pattern or a clear. Each
/// instance applies it precisely to its own <see cref="MemoCache"/>; the shared level applies it through stamps
/// (a tag's stamp, a key's stamp, or for a pattern and a clear the stamp that every shared entry carries).
/// </summary>
/// <param name="Kind">What it removes.</param>
/// <param name="Value">The tag, key or pattern; empty for <see cref="InvalidationKind.All"/>.</param>
internal readonly record struct InvalidationItem(InvalidationKind Kind, string Value)
{
    /// <summary>A clear.</summary>
    public static InvalidationItem All => new(InvalidationKind.All, string.Empty);

    public static InvalidationItem Tag(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        return new(InvalidationKind.Tag, tag);
    }

    public static InvalidationItem Key(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return new(InvalidationKind.Key, key);
    }

    /// <summary>A pattern invalidation; the pattern is checked here, so a malformed one fails before anything is sent.</summary>
    /// <exception cref="ArgumentException">The pattern is malformed.</exception>
    public static InvalidationItem Pattern(string pattern)
    {
        _ = GlobPattern.Parse(pattern, nameof(pattern));
        return new(InvalidationKind.Pattern, pattern);
    }

    /// <summary>Tag invalidations, one per tag.</summary>
    public static InvalidationItem[] Tags(IEnumerable<string> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        return [.. tags.Select(Tag)];
    }

    /// <summary>What a <see cref="MemoCache"/> invalidation removes, as items for the other instances.</summary>
    public static InvalidationItem[] From(CacheInvalidation invalidation) =>
        invalidation switch
        {
            { IsAll: true } => [All],
            { Key: { } key } => [new(InvalidationKind.Key, key)],
            { Pattern: { } pattern } => [new(InvalidationKind.Pattern, pattern)],
            { Tags: { } tags } => [.. tags.Select(static t => new InvalidationItem(InvalidationKind.Tag, t))],
            _ => [],
        };
}
