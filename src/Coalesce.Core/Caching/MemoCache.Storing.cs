namespace Coalesce;

/// <summary>Storing an entry: its time to live, its stale windows, its tags, and the bounds that may refuse it.</summary>
public sealed partial class MemoCache
{
    internal void Store<T>(string key, T value, TimeSpan? ttl, IEnumerable<string>? tags)
    {
        ArgumentNullException.ThrowIfNull(key);
        ValidateTtl(ttl);
        Put(key, StoreKey(key), value, ttl, StoreTags(tags));
    }

    /// <summary>
    /// Stores like <see cref="SetAsync{T}(string, T, TimeSpan?, IEnumerable{string}?, CancellationToken)"/>, with stale windows after the time to live: the entry stays in the store
    /// (and counts against its bounds) for <paramref name="ttl"/> plus the longer window, readable through
    /// <see cref="TryGetEntry{T}"/> only once its time to live has run out. Without windows it is stored as any entry.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, kept by reference.</param>
    /// <param name="ttl">Its time to live; must be positive.</param>
    /// <param name="tags">Tags for invalidation; <see langword="null"/> for none.</param>
    /// <param name="staleWhileRevalidate">How long past its time to live it may be served while a refresh runs; zero for none.</param>
    /// <param name="staleIfError">How long past its time to live it may be served when a fetch fails; zero for none.</param>
    internal void Store<T>(string key, T value, TimeSpan ttl, IEnumerable<string>? tags, TimeSpan staleWhileRevalidate, TimeSpan staleIfError)
    {
        ArgumentNullException.ThrowIfNull(key);
        ValidateTtl(ttl);
        ValidateWindow(staleWhileRevalidate, nameof(staleWhileRevalidate));
        ValidateWindow(staleIfError, nameof(staleIfError));
        object? stored = value;
        Put(key, StoreKey(key), ref stored, ttl, StoreTags(tags), staleWhileRevalidate, staleIfError);
    }

    private static void ValidateWindow(TimeSpan window, string name)
    {
        if (window < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(name, window, "A stale window must be zero (none) or positive.");
        }
    }

    /// <summary>
    /// Stores with stale windows when there are any and a time to live (its own or the cache's default) for them to
    /// follow; <paramref name="value"/> comes back as the object stored, for <see cref="ICacheStore{TKey, TValue}.RemoveIfValue"/>.
    /// </summary>
    /// <returns><see langword="false"/> when the value was rejected as too large.</returns>
    private bool Put(
        string key, string storeKey, ref object? value, TimeSpan? ttl, string[]? storeTags, TimeSpan staleWhileRevalidate, TimeSpan staleIfError)
    {
        ttl ??= _defaultTtl;
        if ((staleWhileRevalidate > TimeSpan.Zero || staleIfError > TimeSpan.Zero) && ttl is { } life)
        {
            var now = _time.GetTimestamp();
            var frequency = _time.TimestampFrequency;
            var freshUntil = MonotonicDeadline.After(now, life, frequency);
            value = new WindowedEntry(
                value,
                now,
                freshUntil,
                MonotonicDeadline.After(freshUntil, staleWhileRevalidate, frequency),
                MonotonicDeadline.After(freshUntil, staleIfError, frequency));
            ttl = MonotonicDeadline.Add(life, staleWhileRevalidate > staleIfError ? staleWhileRevalidate : staleIfError);
        }

        return Put(key, storeKey, value, ttl, storeTags);
    }

    private bool Put(string key, string storeKey, object? value, TimeSpan? ttl, string[]? storeTags)
    {
        if (_store.Set(storeKey, value, ttl ?? _defaultTtl, storeTags))
        {
            Raise(Set, key);
            return true;
        }

        if (Rejected is { } handler)
        {
            RaiseSafely(handler, new CacheRejectedEventArgs(key, CacheSizing.Of(storeKey, value, storeTags), _store.MaxEntryBytes));
        }

        return false;
    }

    /// <summary>
    /// Checks tags and scopes them to the namespace, so invalidating a tag in one namespace of a shared store leaves
    /// the other namespaces alone.
    /// </summary>
    private string[]? StoreTags(IEnumerable<string>? tags)
    {
        if (tags is null)
        {
            return null;
        }

        var array = tags.ToArray();
        for (var i = 0; i < array.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(array[i], nameof(tags));
            if (_prefix is not null)
            {
                array[i] = _prefix + array[i];
            }
        }

        return array;
    }
}
