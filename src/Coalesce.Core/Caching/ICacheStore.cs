using System.Diagnostics.CodeAnalysis;

namespace Coalesce;

/// <summary>
/// The seam between <see cref="MemoCache"/> (and the batching proxies) and where entries live: storage, expiry,
/// the size bound and the tag index. The in-memory <see cref="LruStore{TKey, TValue}"/> is the only level today;
/// a shared second level (and tag invalidation that reaches every instance) plugs in here without touching callers.
/// </summary>
/// <remarks>
/// Reads must be lock-free and must never return an expired entry. Removals that the store decides on by itself
/// (expiry, the size bound) are reported through the callback given to the store, outside any lock.
/// </remarks>
internal interface ICacheStore<TKey, TValue> : IDisposable
    where TKey : notnull
{
    /// <summary>Live entries, including expired ones not yet swept.</summary>
    int Count { get; }

    /// <summary>The sum of the sizes of the entries whose size is known.</summary>
    long ApproximateBytes { get; }

    /// <summary>Entries dropped to stay within the size bound, since creation.</summary>
    long Evictions { get; }

    /// <summary>Entries dropped because their time to live ran out, since creation.</summary>
    long Expirations { get; }

    /// <summary>Values not stored because they were larger than the largest entry allowed, since creation.</summary>
    long Rejections { get; }

    /// <summary>The largest entry stored, in bytes; <see cref="long.MaxValue"/> when unbounded.</summary>
    long MaxEntryBytes { get; }

    /// <summary>Reads an entry and marks it as recently used.</summary>
    bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value);

    /// <summary>Reads an entry by a character span when <typeparamref name="TKey"/> is <see cref="string"/>.</summary>
    bool TryGet(ReadOnlySpan<char> key, [MaybeNullWhen(false)] out TValue value);

    /// <summary>Whether a live entry exists, without touching its recency.</summary>
    bool Contains(TKey key);

    /// <summary>Reads a live entry without touching its recency.</summary>
    bool TryPeek(TKey key, [MaybeNullWhen(false)] out TValue value);

    /// <summary>
    /// Adds or replaces an entry: value, time to live and tags all come from this call. Then evicts the least recently
    /// used entries while a bound is exceeded.
    /// </summary>
    /// <returns>
    /// <see langword="false"/> when the entry is larger than <see cref="MaxEntryBytes"/>: it is not stored, and any entry
    /// under the key is removed.
    /// </returns>
    bool Set(TKey key, TValue value, TimeSpan? timeToLive, string[]? tags);

    /// <summary>Removes an entry; <see langword="false"/> when there was no live entry.</summary>
    bool Remove(TKey key);

    /// <summary>
    /// Removes the entry under <paramref name="key"/> only if it still holds <paramref name="value"/> (the same
    /// reference), so a newer entry stored meanwhile stays.
    /// </summary>
    bool RemoveIfValue(TKey key, TValue value);

    /// <summary>Removes every live entry carrying any of the tags, and returns their keys.</summary>
    List<TKey> RemoveByTags(IEnumerable<string> tags);

    /// <summary>Removes every live entry whose key matches, and returns their keys.</summary>
    List<TKey> RemoveWhere(Func<TKey, bool> predicate);

    /// <summary>Removes every entry whose time to live ran out; returns how many.</summary>
    int RemoveExpired();

    /// <summary>Lists live entries whose key matches, up to <paramref name="limit"/>.</summary>
    List<StoreEntry<TKey, TValue>> Snapshot(Func<TKey, bool>? predicate, int limit);
}
