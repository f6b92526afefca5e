using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization.Metadata;

namespace Coalesce;

/// <summary>
/// An in-process memo cache: values with an optional time to live and tags, optional least-recently-used bounds
/// on entries and on bytes (<see cref="MemoCacheOptions.MaxEntries"/>, <see cref="MemoCacheOptions.MaxBytes"/>),
/// invalidation by key, tag or glob pattern, single-flight fetching on a miss, statistics, events and
/// function memoization. Thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// Values are stored by reference: the cache neither copies nor serializes them, so a caller that mutates a value
/// after storing it (or after reading it) changes what every other reader sees. Store immutable values, or copies.
/// </para>
/// <para>
/// Reads take no lock and a hit allocates nothing; writes and invalidations take one short lock. An expired entry is
/// never returned. Time to live runs on <see cref="TimeProvider.GetTimestamp"/>, a monotonic clock, so changing the
/// wall clock neither extends nor shortens it.
/// </para>
/// <para>
/// Event handlers run synchronously on the thread that caused the event, after the cache's own bookkeeping and
/// outside its lock. A handler that throws is ignored (the remaining handlers still run), so it cannot break the
/// cache. Events without subscribers cost nothing.
/// </para>
/// </remarks>
public sealed partial class MemoCache : IDisposable
{
    private const int StackKeyLimit = 256;

    private readonly ICacheStore<string, object?> _store;
    private readonly bool _ownsStore;
    private readonly string? _prefix;
    private readonly TimeSpan? _defaultTtl;
    private readonly TimeProvider _time;
    private readonly SharedCall _flights = new();
    private readonly StripedCounter _hits = new();
    private readonly StripedCounter _misses = new();
    private readonly ITimer? _sweepTimer;
    private readonly CacheMetrics _metrics;
    private int _disposed;

    /// <summary>Creates a cache.</summary>
    /// <param name="options">Settings; <see langword="null"/> for the defaults (unbounded, no expiry).</param>
    /// <exception cref="ArgumentOutOfRangeException">
    /// A size or time option is zero or negative, or <see cref="MemoCacheOptions.MaxEntryBytes"/> exceeds
    /// <see cref="MemoCacheOptions.MaxBytes"/>.
    /// </exception>
    public MemoCache(MemoCacheOptions? options = null)
        : this(options ?? new MemoCacheOptions(), store: null)
    {
    }

    /// <summary>Creates a cache over a given store, which may be shared with other caches (use namespaces then).</summary>
    internal MemoCache(MemoCacheOptions options, ICacheStore<string, object?>? store)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Name = options.Name;
        _prefix = options.Namespace is null ? null : options.Namespace + ":";
        _defaultTtl = options.DefaultTtl;
        _time = options.TimeProvider;
        _ownsStore = store is null;
        _store = store ?? new LruStore<string, object?>(
            options.MaxEntries, _time, StringComparer.Ordinal, CacheSizing.Of, OnStoreRemoved, options.MaxBytes, options.MaxEntryBytes);
        if (options.ExpirationScanInterval is { } interval)
        {
            var sweep = new SweepState(new WeakReference<MemoCache>(this));
            _sweepTimer = _time.CreateTimer(static state => ((SweepState)state!).Run(), sweep, interval, interval);
            sweep.Timer = _sweepTimer;
        }

        _metrics = new CacheMetrics(this, options.MeterFactory);
        _secondLevel = options.SecondLevel;
        _levelLogger = options.SecondLevel is null || options.LoggerFactory is null
            ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
            : options.LoggerFactory.CreateLogger(typeof(MemoCache).FullName!);
    }

    internal ICacheStore<string, object?> Backing => _store;

    /// <summary>The cache's name, from <see cref="MemoCacheOptions.Name"/>.</summary>
    public string Name { get; }

    /// <summary>The number of entries held (entries kept stale for their windows, and expired entries not yet swept, included).</summary>
    public int Count => _store.Count;

    /// <summary>
    /// Reads an entry synchronously: the allocation-free hit path.
    /// </summary>
    /// <typeparam name="T">The type the value was stored as (or a base type of it).</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, when found.</param>
    /// <returns><see langword="true"/> on a hit.</returns>
    /// <exception cref="InvalidOperationException">The entry holds a value that is not a <typeparamref name="T"/>.</exception>
    public bool TryGet<T>(string key, [MaybeNullWhen(false)] out T value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!TryGetRaw(key, out var raw) || (raw is WindowedEntry windowed && !TryUnwrapFresh(windowed, out raw)))
        {
            CountMiss(key);
            value = default;
            return false;
        }

        value = Cast<T>(key, raw);
        CountHit(key);
        return true;
    }

    /// <summary>
    /// Reads an entry whether fresh or stale within one of its windows (<see cref="Store{T}(string, T, TimeSpan, IEnumerable{string}?, TimeSpan, TimeSpan)"/>).
    /// A fresh entry counts as a hit, as for <see cref="TryGet{T}"/>; a stale one as a miss, since the caller is
    /// expected to fetch anew.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, when found.</param>
    /// <param name="freshness">How fresh it is.</param>
    /// <param name="count">
    /// <see langword="false"/> for a caller that counts its own outcome (<see cref="CountLookup"/>) once it knows it: the
    /// request middleware, whose one request may look several times.
    /// </param>
    /// <returns><see langword="true"/> when the entry is fresh or inside a window.</returns>
    /// <exception cref="InvalidOperationException">The entry holds a value that is not a <typeparamref name="T"/>.</exception>
    internal bool TryGetEntry<T>(string key, [MaybeNullWhen(false)] out T value, out EntryFreshness freshness, bool count = true)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!TryGetRaw(key, out var raw))
        {
            if (count)
            {
                CountMiss(key);
            }

            value = default;
            freshness = default;
            return false;
        }

        if (raw is not WindowedEntry windowed)
        {
            value = Cast<T>(key, raw);
            freshness = new EntryFreshness(IsFresh: true, CanRevalidate: true, CanServeOnError: true, TimeSpan.Zero, TimeSpan.Zero);
            if (count)
            {
                CountHit(key);
            }

            return true;
        }

        var now = _time.GetTimestamp();
        if (!windowed.IsUsableAt(now))
        {
            if (count)
            {
                CountMiss(key);
            }

            value = default;
            freshness = default;
            return false;
        }

        value = Cast<T>(key, windowed.Value);
        freshness = windowed.FreshnessAt(now, _time);
        if (!count)
        {
            return true;
        }

        if (freshness.IsFresh)
        {
            CountHit(key);
        }
        else
        {
            CountMiss(key);
        }

        return true;
    }

    /// <summary>
    /// <see cref="TryGet{T}"/> without counting: keeps the entry's recency, but leaves the hit or miss to a caller
    /// that counts its own outcome once (<see cref="CountLookup"/>).
    /// </summary>
    internal bool TryGetUncounted<T>(string key, [MaybeNullWhen(false)] out T value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!TryGetRaw(key, out var raw) || (raw is WindowedEntry windowed && !TryUnwrapFresh(windowed, out raw)))
        {
            value = default;
            return false;
        }

        value = Cast<T>(key, raw);
        return true;
    }

    /// <summary>
    /// Counts one lookup a caller made without counting (<see cref="TryGetUncounted{T}"/>) once it knows what the lookup
    /// was worth: the request middleware counts a request answered from the cache as a hit, and one that had to run its
    /// endpoint as a miss, whatever number of times it looked. No <see cref="Hit"/> or <see cref="Miss"/> event is raised.
    /// </summary>
    internal void CountLookup(bool hit)
    {
        if (hit)
        {
            _hits.Increment();
        }
        else
        {
            _misses.Increment();
        }
    }

    // The common case, no namespace, stays inlinable; the stack buffer of the other keeps its method from being inlined.
    private bool TryGetRaw(string key, out object? raw) => _prefix is null ? _store.TryGet(key, out raw) : TryGetPrefixed(key, _prefix, out raw);

    private bool TryGetPrefixed(string key, string prefix, out object? raw)
    {
        if (prefix.Length + key.Length <= StackKeyLimit)
        {
            Span<char> buffer = stackalloc char[prefix.Length + key.Length];
            prefix.CopyTo(buffer);
            key.CopyTo(buffer[prefix.Length..]);
            return _store.TryGet(buffer, out raw);
        }

        return _store.TryGet(prefix + key, out raw);
    }

    /// <summary>The value inside a windowed entry while it is fresh; past its time to live, public reads see nothing.</summary>
    private bool TryUnwrapFresh(WindowedEntry windowed, out object? value)
    {
        value = windowed.Value;
        return windowed.IsFreshAt(_time.GetTimestamp());
    }

    private void CountHit(string key)
    {
        _hits.Increment();
        Raise(Hit, key);
    }

    private void CountMiss(string key)
    {
        _misses.Increment();
        Raise(Miss, key);
    }

    /// <summary>Reads an entry.</summary>
    /// <returns>The value, or <see langword="default"/> on a miss.</returns>
    /// <exception cref="InvalidOperationException">The entry holds a value that is not a <typeparamref name="T"/>.</exception>
    public ValueTask<T?> GetAsync<T>(string key, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        return new ValueTask<T?>(TryGet<T>(key, out var value) ? value : default);
    }

    /// <summary>
    /// Stores a value, replacing the value, time to live and tags of any entry under the key. A value larger than
    /// <see cref="MemoCacheOptions.MaxEntryBytes"/> is not stored: the call returns quietly, the entry it would have
    /// replaced is removed, and <see cref="Rejected"/> is raised.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="value">The value, kept by reference.</param>
    /// <param name="ttl">Its time to live; <see langword="null"/> for <see cref="MemoCacheOptions.DefaultTtl"/>. Must be positive.</param>
    /// <param name="tags">Tags for <see cref="InvalidateByTagAsync"/>; <see langword="null"/> for none.</param>
    /// <param name="ct">Checked before the write.</param>
    public ValueTask SetAsync<T>(string key, T value, TimeSpan? ttl = null, IEnumerable<string>? tags = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        Store(key, value, ttl, tags);
        return ValueTask.CompletedTask;
    }

    /// <summary>Whether a live entry exists. Counts neither as a hit nor as a use for the size bound.</summary>
    public ValueTask<bool> HasAsync(string key, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ct.ThrowIfCancellationRequested();
        return new ValueTask<bool>(
            _store.TryPeek(StoreKey(key), out var raw) && (raw is not WindowedEntry windowed || TryUnwrapFresh(windowed, out _)));
    }

    /// <summary>Deletes an entry.</summary>
    /// <returns><see langword="true"/> if a live entry was deleted.</returns>
    public ValueTask<bool> DeleteAsync(string key, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ct.ThrowIfCancellationRequested();
        BeginInvalidation(CacheInvalidation.ForKey(key));
        var deleted = _store.Remove(StoreKey(key));
        if (deleted)
        {
            Raise(Deleted, key);
        }

        return new ValueTask<bool>(deleted);
    }

    /// <summary>
    /// Removes every entry of this cache (only those under its namespace when it has one). Raises no
    /// <see cref="Deleted"/> or <see cref="Invalidated"/> events.
    /// </summary>
    public ValueTask ClearAsync(CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        BeginInvalidation(CacheInvalidation.All);
        _store.RemoveWhere(OwnsKey);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Returns the cached value, or runs <paramref name="fetcher"/> and stores its result. Concurrent callers that
    /// miss the same key run the fetcher once and share its result.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="fetcher">
    /// Produces the value on a miss. If it throws, nothing is stored and every caller waiting on it gets the exception.
    /// Its token is cancelled only when every waiting caller has cancelled. A result fetched before an invalidation
    /// covering its key or tags is returned but not kept.
    /// </param>
    /// <param name="ttl">The time to live of a fetched value; <see langword="null"/> for the default.</param>
    /// <param name="tags">Tags of a fetched value.</param>
    /// <param name="ct">Ends this caller's wait only.</param>
    /// <exception cref="InvalidOperationException">The entry, or a fetch in flight for the key, has another type.</exception>
    public ValueTask<T> GetOrFetchAsync<T>(
        string key, Func<CancellationToken, Task<T>> fetcher, TimeSpan? ttl = null, IEnumerable<string>? tags = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(fetcher);
        ct.ThrowIfCancellationRequested();
        if (TryGetEntry<T>(key, out var cached, out var freshness) && freshness.IsFresh)
        {
            return new ValueTask<T>(cached);
        }

        // The miss path lives in its own methods: a lambda here would capture the parameters, and the compiler
        // allocates such a closure on entry to the method, so even a hit would pay for it.
        return FetchOrServeStale(key, fetcher, ttl, tags, cached, freshness, ct);
    }

    private ValueTask<T> FetchOrServeStale<T>(
        string key, Func<CancellationToken, Task<T>> fetcher, TimeSpan? ttl, IEnumerable<string>? tags, T? stale, EntryFreshness freshness, CancellationToken ct)
    {
        ValidateTtl(ttl);
        var settings = new EntrySettings(ttl, tags as IReadOnlyList<string> ?? tags?.ToArray(), TimeSpan.Zero, TimeSpan.Zero, SoftTimeout: null);
        return FetchOrServeStale(key, fetcher, settings, stale, freshness, ct);
    }

    /// <summary>Lists the keys of live entries, optionally those matching a glob pattern, in ordinal order.</summary>
    /// <exception cref="ArgumentException">The pattern is malformed.</exception>
    public IReadOnlyList<string> Keys(string? pattern = null) =>
        [.. Entries(pattern).Select(static e => e.Key)];

    /// <summary>Lists live entries, optionally those whose key matches a glob pattern, in ordinal key order.</summary>
    /// <param name="pattern">A glob as for <see cref="InvalidateByPatternAsync"/>; <see langword="null"/> for all.</param>
    /// <param name="limit">The most entries returned; <see langword="null"/> for all. Must be at least 1.</param>
    /// <exception cref="ArgumentException">The pattern is malformed.</exception>
    public IReadOnlyList<CacheEntry> Entries(string? pattern = null, int? limit = null)
    {
        if (limit is { } max)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(max, 1, nameof(limit));
        }

        var glob = pattern is null ? null : GlobPattern.Parse(pattern, nameof(pattern));
        var now = _time.GetUtcNow();
        var timestamp = _time.GetTimestamp();
        var entries = _store
            .Snapshot(k => OwnsKey(k) && (glob is null || glob.IsMatch(UserKeySpan(k))), int.MaxValue)
            .Where(e => e.Value is not WindowedEntry windowed || windowed.IsFreshAt(timestamp))
            .Select(e => e.Value is WindowedEntry windowed
                ? new CacheEntry(UserKey(e.Key), windowed.Value, now + _time.GetElapsedTime(timestamp, windowed.FreshUntil), [.. e.Tags.Select(UserKey)])
                : new CacheEntry(UserKey(e.Key), e.Value, now + e.TimeToLive, [.. e.Tags.Select(UserKey)]))
            .OrderBy(static e => e.Key, StringComparer.Ordinal);
        return [.. limit is { } take ? entries.Take(take) : entries];
    }

    /// <summary>Removes entries whose time to live has run out. Writes and a timer also do this.</summary>
    /// <returns>How many entries went.</returns>
    public int RemoveExpired() => _store.RemoveExpired();

    /// <summary>Returns a snapshot of the statistics.</summary>
    public CacheStats GetStats() =>
        new(_hits.Value, _misses.Value, _store.Count, _store.Evictions, _store.Expirations, _store.ApproximateBytes)
        {
            Rejections = _store.Rejections,
            StaleWhileRevalidateHits = _staleWhileRevalidating.Value,
            StaleIfErrorHits = _staleOnError.Value,
            SoftTimeoutHits = _staleOnTimeout.Value,
            Refreshes = Volatile.Read(ref _refreshes),
            RefreshFailures = Volatile.Read(ref _refreshFailures),
            SecondLevelHits = Volatile.Read(ref _levelHits),
            SecondLevelMisses = Volatile.Read(ref _levelMisses),
            SecondLevelWrites = Volatile.Read(ref _levelWrites),
            SecondLevelSkips = Volatile.Read(ref _levelSkips),
        };

    /// <summary>
    /// Sets hits, misses, stale hits, refreshes and refresh failures to zero. Size, evictions, expirations and
    /// rejections are kept.
    /// </summary>
    public void ResetStats()
    {
        _hits.Reset();
        _misses.Reset();
        _staleWhileRevalidating.Reset();
        _staleOnError.Reset();
        _staleOnTimeout.Reset();
        Interlocked.Exchange(ref _refreshes, 0);
        Interlocked.Exchange(ref _refreshFailures, 0);
        Interlocked.Exchange(ref _levelHits, 0);
        Interlocked.Exchange(ref _levelMisses, 0);
        Interlocked.Exchange(ref _levelWrites, 0);
        Interlocked.Exchange(ref _levelSkips, 0);
    }

    /// <summary>
    /// Stops the expiry timer and the metrics for this cache, and cancels background refreshes (none starts
    /// afterwards). Entries stay readable.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Cancelled, never disposed: refreshes and soft-timeout waits still read its token.
            _disposing.Cancel();
            _sweepTimer?.Dispose();
            _metrics.Dispose();
            if (_ownsStore)
            {
                _store.Dispose();
            }
        }
    }

    private static void ValidateTtl(TimeSpan? ttl)
    {
        if (ttl is { } value && value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), value, "The time to live must be positive, or null for the cache's default.");
        }
    }

    private static T Cast<T>(string key, object? raw)
    {
        if (raw is T typed)
        {
            return typed;
        }

        if (raw is null && default(T) is null)
        {
            return default!;
        }

        throw new InvalidOperationException(
            $"The cache entry '{key}' holds a value of type '{raw?.GetType().FullName ?? "null"}', which cannot be read as '{typeof(T).FullName}'.");
    }

    private string StoreKey(string key) => _prefix is null ? key : _prefix + key;

    private bool OwnsKey(string storeKey) => _prefix is null || storeKey.StartsWith(_prefix, StringComparison.Ordinal);

    private ReadOnlySpan<char> UserKeySpan(string storeKey) => storeKey.AsSpan(_prefix?.Length ?? 0);

    private string UserKey(string storeKey) => _prefix is null ? storeKey : storeKey[_prefix.Length..];

    /// <summary>What a fetch needs, handed to the flight as state so a caller joining it allocates nothing.</summary>
    private readonly record struct Fetch<T>(
        MemoCache Cache,
        string Key,
        string StoreKey,
        Func<CancellationToken, Task<T>> Fetcher,
        EntrySettings Settings,
        string[]? StoreTags,
        JsonTypeInfo<T>? TypeInfo);

    private sealed class SweepState(WeakReference<MemoCache> cache)
    {
        public ITimer? Timer { get; set; }

        public void Run()
        {
            if (cache.TryGetTarget(out var target))
            {
                target.RemoveExpired();
            }
            else
            {
                Timer?.Dispose();
            }
        }
    }
}
