namespace Coalesce;

/// <summary>A point-in-time view of one entry, as listed by <see cref="MemoCache.Entries"/>.</summary>
/// <param name="Key">The key, without the cache's namespace.</param>
/// <param name="Value">The stored value (the same reference that was stored).</param>
/// <param name="ExpiresAt">When it expires by the cache's clock, or <see langword="null"/> when it never does.</param>
/// <param name="Tags">The tags it was stored with.</param>
public sealed record CacheEntry(string Key, object? Value, DateTimeOffset? ExpiresAt, IReadOnlyList<string> Tags);
