using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Coalesce;

/// <summary>
/// The in-memory store: a concurrent map read without locks, exact least-recently-used eviction by entry count and by
/// bytes, monotonic expiry and a tag index. Values are kept by reference.
/// </summary>
/// <remarks>
/// <para>
/// Reads take no lock. A read checks expiry against <see cref="TimeProvider.GetTimestamp"/> (monotonic, so moving
/// the wall clock neither extends nor shortens a time to live) and, when the store is bounded, stamps the entry from a
/// shared counter. Writes take one lock that guards the tag index and two heaps.
/// </para>
/// <para>
/// Recency: the recency heap orders entries by the stamp they had when pushed. Eviction pops the minimum; an entry
/// touched since is pushed again with its current stamp, a removed one is dropped. Heaps are rebuilt when stale
/// nodes outnumber live entries two to one, so they stay proportional to the store.
/// </para>
/// <para>
/// Expiry: an expired entry is never returned, and it is removed when a read meets it, when a write sweeps the
/// expiry heap (every write removes all entries that have run out), or on <see cref="RemoveExpired"/>. Removing an
/// entry always removes it from the tag index, so tags never outlive their entries.
/// </para>
/// </remarks>
internal sealed class LruStore<TKey, TValue> : ICacheStore<TKey, TValue>
    where TKey : notnull
{
    private const long Never = long.MaxValue;

    private readonly ConcurrentDictionary<TKey, Entry> _map;
    private readonly ConcurrentDictionary<TKey, Entry>.AlternateLookup<ReadOnlySpan<char>> _spanLookup;
    private readonly bool _hasSpanLookup;
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private readonly long _maxEntryBytes;
    private readonly Func<TKey, TValue, string[]?, long>? _sizeOf;
    private readonly Action<TKey, TValue, RemovalReason>? _removed;
    private readonly PriorityQueue<Ticket, long>? _recency;
    private readonly PriorityQueue<Ticket, long> _expiries = new();
    private readonly Dictionary<string, HashSet<TKey>> _tags = new(StringComparer.Ordinal);
    private readonly IEqualityComparer<TKey> _comparer;
    private long _clock;
    private int _count;
    private long _bytes;
    private long _evictions;
    private long _expirations;
    private long _rejections;

    /// <param name="maxEntries">The bound on entries; <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock for expiry.</param>
    /// <param name="comparer">Key equality; <see langword="null"/> for the default.</param>
    /// <param name="sizeOf">The size of an entry (key, value, tags) in bytes, or <see langword="null"/> to not track sizes.</param>
    /// <param name="removed">Told, outside the lock, about entries removed by expiry or the bound.</param>
    /// <param name="maxBytes">The bound on the sum of sizes; <see langword="null"/> for none. Needs <paramref name="sizeOf"/>.</param>
    /// <param name="maxEntryBytes">The largest entry stored; <see langword="null"/> for <paramref name="maxBytes"/>.</param>
    /// <remarks>Recency is tracked only when there is a bound to evict by.</remarks>
    public LruStore(
        int? maxEntries,
        TimeProvider timeProvider,
        IEqualityComparer<TKey>? comparer = null,
        Func<TKey, TValue, string[]?, long>? sizeOf = null,
        Action<TKey, TValue, RemovalReason>? removed = null,
        long? maxBytes = null,
        long? maxEntryBytes = null)
    {
        if ((maxBytes ?? maxEntryBytes) is not null && sizeOf is null)
        {
            throw new ArgumentException("A byte bound needs a size function.", nameof(sizeOf));
        }

        _comparer = comparer ?? EqualityComparer<TKey>.Default;
        _map = new ConcurrentDictionary<TKey, Entry>(_comparer);
        _hasSpanLookup = _map.TryGetAlternateLookup(out _spanLookup);
        _time = timeProvider;
        _maxEntries = maxEntries ?? int.MaxValue;
        _maxBytes = maxBytes ?? long.MaxValue;
        _maxEntryBytes = Math.Min(maxEntryBytes ?? long.MaxValue, _maxBytes);
        _recency = maxEntries is null && maxBytes is null ? null : new PriorityQueue<Ticket, long>();
        _sizeOf = sizeOf;
        _removed = removed;
    }

    /// <summary>The largest entry stored, in bytes; <see cref="long.MaxValue"/> when unbounded.</summary>
    public long MaxEntryBytes => _maxEntryBytes;

    public int Count => Volatile.Read(ref _count);

    public long ApproximateBytes => Volatile.Read(ref _bytes);

    public long Evictions => Volatile.Read(ref _evictions);

    public long Expirations => Volatile.Read(ref _expirations);

    public long Rejections => Volatile.Read(ref _rejections);

    /// <summary>Tags with at least one entry; lets tests prove the index does not outlive entries.</summary>
    internal int TagCount
    {
        get { lock (_gate) { return _tags.Count; } }
    }

    /// <summary>Nodes in the recency and expiry heaps; lets tests prove they stay proportional to the store.</summary>
    internal int HeapNodes
    {
        get { lock (_gate) { return (_recency?.Count ?? 0) + _expiries.Count; } }
    }

    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (_map.TryGetValue(key, out var entry))
        {
            return TryRead(entry, out value);
        }

        value = default;
        return false;
    }

    public bool TryGet(ReadOnlySpan<char> key, [MaybeNullWhen(false)] out TValue value)
    {
        if (_hasSpanLookup && _spanLookup.TryGetValue(key, out var entry))
        {
            return TryRead(entry, out value);
        }

        value = default;
        return false;
    }

    public bool Contains(TKey key) => TryPeek(key, out _);

    public bool TryPeek(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (!_map.TryGetValue(key, out var entry))
        {
            value = default;
            return false;
        }

        if (IsExpired(entry, _time.GetTimestamp()))
        {
            Expire(entry);
            value = default;
            return false;
        }

        value = entry.Value;
        return true;
    }

    public bool Set(TKey key, TValue value, TimeSpan? timeToLive, string[]? tags)
    {
        var now = _time.GetTimestamp();
        var size = _sizeOf?.Invoke(key, value, tags) ?? 0;
        if (size > _maxEntryBytes)
        {
            Reject(key);
            return false;
        }

        var entry = new Entry(key, value, timeToLive is { } ttl ? Deadline(now, ttl) : Never, tags ?? [], size);
        List<Removal>? removals = null;
        lock (_gate)
        {
            entry.Stamp = Interlocked.Increment(ref _clock);
            if (_map.TryGetValue(key, out var previous))
            {
                Unlink(previous);
            }

            Link(entry);
            SweepExpired(now, ref removals);

            // The new entry fits on its own (it is at most the largest entry allowed), so this ends with both bounds met.
            while ((_count > _maxEntries || _bytes > _maxBytes) && EvictLeastRecentlyUsed(ref removals))
            {
            }

            CompactIfMostlyStale();
        }

        Report(removals);
        return true;
    }

    public bool Remove(TKey key)
    {
        lock (_gate)
        {
            if (!_map.TryGetValue(key, out var entry))
            {
                return false;
            }

            Unlink(entry);
            if (IsExpired(entry, _time.GetTimestamp()))
            {
                _expirations++;
                return false;
            }

            return true;
        }
    }

    public bool RemoveIfValue(TKey key, TValue value)
    {
        lock (_gate)
        {
            if (!_map.TryGetValue(key, out var entry) || !ReferenceEquals(entry.Value, value))
            {
                return false;
            }

            Unlink(entry);
            return true;
        }
    }

    public List<TKey> RemoveByTags(IEnumerable<string> tags)
    {
        var gone = new List<TKey>();
        List<Removal>? removals = null;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            foreach (var tag in tags)
            {
                if (!_tags.TryGetValue(tag, out var keys))
                {
                    continue;
                }

                foreach (var key in keys.ToArray())
                {
                    RemoveLive(_map[key], now, gone, ref removals);
                }
            }
        }

        Report(removals);
        return gone;
    }

    public List<TKey> RemoveWhere(Func<TKey, bool> predicate)
    {
        var gone = new List<TKey>();
        List<Removal>? removals = null;
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            foreach (var pair in _map)
            {
                if (predicate(pair.Key))
                {
                    RemoveLive(pair.Value, now, gone, ref removals);
                }
            }
        }

        Report(removals);
        return gone;
    }

    public int RemoveExpired()
    {
        List<Removal>? removals = null;
        lock (_gate)
        {
            SweepExpired(_time.GetTimestamp(), ref removals);
            CompactIfMostlyStale();
        }

        Report(removals);
        return removals?.Count ?? 0;
    }

    public List<StoreEntry<TKey, TValue>> Snapshot(Func<TKey, bool>? predicate, int limit)
    {
        var now = _time.GetTimestamp();
        var result = new List<StoreEntry<TKey, TValue>>();
        foreach (var pair in _map)
        {
            if (result.Count >= limit)
            {
                break;
            }

            var entry = pair.Value;
            if (IsExpired(entry, now) || (predicate is not null && !predicate(pair.Key)))
            {
                continue;
            }

            TimeSpan? left = entry.ExpiresAt == Never ? null : _time.GetElapsedTime(now, entry.ExpiresAt);
            result.Add(new StoreEntry<TKey, TValue>(entry.Key, entry.Value, left, entry.Tags));
        }

        return result;
    }

    public void Dispose()
    {
        // Nothing to release: the store owns no timer or handle. Present so a store with resources fits the seam.
    }

    /// <summary>
    /// Counts a value too large to store, and removes the entry it was meant to replace: that value has been
    /// superseded, and keeping it would serve what the writer just replaced.
    /// </summary>
    private void Reject(TKey key)
    {
        lock (_gate)
        {
            _rejections++;
            if (_map.TryGetValue(key, out var previous))
            {
                Unlink(previous);
            }
        }
    }

    private static bool IsExpired(Entry entry, long now) => entry.ExpiresAt != Never && now >= entry.ExpiresAt;

    private bool TryRead(Entry entry, [MaybeNullWhen(false)] out TValue value)
    {
        if (entry.ExpiresAt != Never && _time.GetTimestamp() >= entry.ExpiresAt)
        {
            Expire(entry);
            value = default;
            return false;
        }

        if (_recency is not null && Volatile.Read(ref entry.Stamp) != Volatile.Read(ref _clock))
        {
            // Skipping the write when the entry is already the most recent keeps a hot key's reads from
            // bouncing the shared counter between cores.
            Volatile.Write(ref entry.Stamp, Interlocked.Increment(ref _clock));
        }

        value = entry.Value;
        return true;
    }

    private long Deadline(long now, TimeSpan ttl) => MonotonicDeadline.After(now, ttl, _time.TimestampFrequency);

    private void Expire(Entry entry)
    {
        List<Removal>? removals = null;
        lock (_gate)
        {
            if (!entry.Removed)
            {
                Unlink(entry);
                _expirations++;
                (removals = []).Add(new Removal(entry, RemovalReason.Expired));
            }
        }

        Report(removals);
    }

    private void RemoveLive(Entry entry, long now, List<TKey> gone, ref List<Removal>? removals)
    {
        Unlink(entry);
        if (IsExpired(entry, now))
        {
            // It had already gone as far as any reader could tell; count it as expired, not as invalidated.
            _expirations++;
            (removals ??= []).Add(new Removal(entry, RemovalReason.Expired));
        }
        else
        {
            gone.Add(entry.Key);
        }
    }

    private void Link(Entry entry)
    {
        _map[entry.Key] = entry;
        _count++;
        _bytes += entry.Size;
        foreach (var tag in entry.Tags)
        {
            if (!_tags.TryGetValue(tag, out var keys))
            {
                _tags[tag] = keys = new HashSet<TKey>(_comparer);
            }

            keys.Add(entry.Key);
        }

        _recency?.Enqueue(entry.Ticket, entry.Stamp);
        if (entry.ExpiresAt != Never)
        {
            _expiries.Enqueue(entry.Ticket, entry.ExpiresAt);
        }
    }

    private void Unlink(Entry entry)
    {
        entry.Removed = true;
        entry.Ticket.Entry = null;
        _map.TryRemove(new KeyValuePair<TKey, Entry>(entry.Key, entry));
        _count--;
        _bytes -= entry.Size;
        foreach (var tag in entry.Tags)
        {
            if (_tags.TryGetValue(tag, out var keys) && keys.Remove(entry.Key) && keys.Count == 0)
            {
                _tags.Remove(tag);
            }
        }
    }

    private void SweepExpired(long now, ref List<Removal>? removals)
    {
        while (_expiries.TryPeek(out var ticket, out var expiresAt) && expiresAt <= now)
        {
            _expiries.Dequeue();
            if (ticket.Entry is { } entry)
            {
                Unlink(entry);
                _expirations++;
                (removals ??= []).Add(new Removal(entry, RemovalReason.Expired));
            }
        }
    }

    private bool EvictLeastRecentlyUsed(ref List<Removal>? removals)
    {
        while (_recency!.TryDequeue(out var ticket, out var stamp))
        {
            if (ticket.Entry is not { } entry)
            {
                continue;
            }

            var current = Volatile.Read(ref entry.Stamp);
            if (current != stamp)
            {
                _recency.Enqueue(ticket, current);
                continue;
            }

            Unlink(entry);
            _evictions++;
            (removals ??= []).Add(new Removal(entry, RemovalReason.Capacity));
            return true;
        }

        return false;
    }

    private void CompactIfMostlyStale()
    {
        const int Slack = 64;
        if (_recency is not null && _recency.Count > (2 * _count) + Slack)
        {
            _recency.Clear();
            foreach (var pair in _map)
            {
                _recency.Enqueue(pair.Value.Ticket, Volatile.Read(ref pair.Value.Stamp));
            }
        }

        if (_expiries.Count > (2 * _count) + Slack)
        {
            _expiries.Clear();
            foreach (var pair in _map)
            {
                if (pair.Value.ExpiresAt != Never)
                {
                    _expiries.Enqueue(pair.Value.Ticket, pair.Value.ExpiresAt);
                }
            }
        }
    }

    private void Report(List<Removal>? removals)
    {
        if (removals is null || _removed is null)
        {
            return;
        }

        foreach (var removal in removals)
        {
            _removed(removal.Entry.Key, removal.Entry.Value, removal.Reason);
        }
    }

    private readonly record struct Removal(Entry Entry, RemovalReason Reason);

    private sealed class Entry
    {
        public readonly TKey Key;
        public readonly TValue Value;
        public readonly long ExpiresAt;
        public readonly string[] Tags;
        public readonly long Size;
        public readonly Ticket Ticket;

        // Written by readers without the lock; the recency heap compares it with the stamp it was queued under.
        public long Stamp;

        // Written and read under the store's lock only.
        public bool Removed;

        public Entry(TKey key, TValue value, long expiresAt, string[] tags, long size)
        {
            Key = key;
            Value = value;
            ExpiresAt = expiresAt;
            Tags = tags;
            Size = size;
            Ticket = new Ticket(this);
        }
    }

    /// <summary>
    /// What the heaps hold for an entry. Removing the entry cuts its ticket loose, so the stale heap nodes that linger
    /// until the next compaction keep a few bytes alive rather than the entry and its value: with large values those
    /// nodes would otherwise hold up to twice the byte bound beyond it.
    /// </summary>
    private sealed class Ticket(Entry entry)
    {
        // Written and read under the store's lock only.
        public Entry? Entry = entry;
    }
}
