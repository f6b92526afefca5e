using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization.Metadata;

namespace Coalesce;

// Serving stale entries: stale-while-revalidate (one background refresh per key), stale-if-error, the soft timeout,
// and the rule that an invalidation wins over any fetch that started before it.
public sealed partial class MemoCache
{
    private readonly InvalidationLog _invalidations = new();
    private readonly CancellationTokenSource _disposing = new();
    private readonly StripedCounter _staleWhileRevalidating = new();
    private readonly StripedCounter _staleOnError = new();
    private readonly StripedCounter _staleOnTimeout = new();
    private long _refreshes;
    private long _refreshFailures;

    /// <summary>
    /// Raised when a background refresh of a stale entry fails (the stale entry stays, and
    /// <see cref="CacheStats.RefreshFailures"/> counts it), so the app can log it. Runs on the refresh's thread; a
    /// handler that throws is ignored.
    /// </summary>
    public event EventHandler<CacheRefreshFailedEventArgs>? RefreshFailed;

    /// <summary>
    /// Returns the cached value, or runs <paramref name="fetcher"/> and stores its result with
    /// <paramref name="options"/>, serving the entry stale as its windows allow:
    /// <list type="bullet">
    /// <item>Fresh: the value.</item>
    /// <item>Past its time to live, inside its <see cref="CacheEntryOptions.StaleWhileRevalidate"/> window: the stale
    /// value at once, and one background refresh for the key (callers meanwhile get the stale value too and start no
    /// other; a refresh and a fetch for the key never run side by side). The refresh's token is cancelled when the
    /// cache is disposed, never by a caller. Its result replaces the entry; its failure keeps the stale entry and is
    /// reported by <see cref="RefreshFailed"/>.</item>
    /// <item>Past that, inside its <see cref="CacheEntryOptions.StaleIfError"/> window: the fetch runs as on a miss; if it
    /// throws (other than for this caller's own cancellation), or takes longer than
    /// <see cref="CacheEntryOptions.SoftTimeout"/>, this caller gets the stale value instead; a fetch cut short by the
    /// soft timeout completes in the background and stores its result.</item>
    /// <item>Otherwise, a miss: as <see cref="GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, TimeSpan?, IEnumerable{string}?, CancellationToken)"/>.</item>
    /// </list>
    /// A fetch or refresh that started before an invalidation covering its key or tags does not keep its result, and
    /// an invalidated entry is never served stale.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="fetcher">Produces the value. Its token is cancelled only when every waiting caller has cancelled (or, for a refresh, when the cache is disposed).</param>
    /// <param name="options">Time to live, tags, windows and soft timeout of a fetched value.</param>
    /// <param name="ct">Ends this caller's wait only.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    /// <exception cref="InvalidOperationException">The entry, or a fetch in flight for the key, has another type.</exception>
    public ValueTask<T> GetOrFetchAsync<T>(string key, Func<CancellationToken, Task<T>> fetcher, CacheEntryOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(fetcher);
        var settings = EntrySettings.From(options);
        ct.ThrowIfCancellationRequested();
        if (TryGetEntry<T>(key, out var cached, out var freshness) && freshness.IsFresh)
        {
            return new ValueTask<T>(cached);
        }

        return FetchOrServeStale(key, fetcher, settings, cached, freshness, ct);
    }

    /// <summary>
    /// Stores a value with <paramref name="options"/> (time to live, tags and stale windows; the soft timeout is ignored),
    /// replacing any entry under the key, as <see cref="SetAsync{T}(string, T, TimeSpan?, IEnumerable{string}?, CancellationToken)"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    public ValueTask SetAsync<T>(string key, T value, CacheEntryOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var settings = EntrySettings.From(options);
        ct.ThrowIfCancellationRequested();
        object? stored = value;
        Put(key, StoreKey(key), ref stored, settings.Ttl, StoreTags(settings.Tags), settings.StaleWhileRevalidate, settings.StaleIfError);
        return ValueTask.CompletedTask;
    }

    /// <summary>Fetches and refreshes in progress; lets tests wait for a background refresh to end.</summary>
    internal int FetchesInFlight => _flights.InFlightCount;

    /// <summary>Cancelled when the cache is disposed: the token of background refreshes, and the lifetime of a soft-timeout caller's place in a flight.</summary>
    internal CancellationToken Disposing => _disposing.Token;

    /// <summary>How many invalidations this cache has seen; read before work whose result is stored later.</summary>
    internal long InvalidationVersion => _invalidations.Version;

    /// <summary>
    /// After a read found no fresh entry (<paramref name="freshness"/> and <paramref name="stale"/> from
    /// <see cref="TryGetEntry{T}"/>): serves the stale value and starts a refresh, or fetches, falling back to the stale
    /// value on error or at the soft timeout as the entry's windows allow.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="fetcher">Produces the value.</param>
    /// <param name="settings">Time to live, tags, windows and soft timeout.</param>
    /// <param name="stale">The entry read, when there is one past its time to live.</param>
    /// <param name="freshness">How fresh that entry is.</param>
    /// <param name="ct">Ends this caller's wait only.</param>
    /// <param name="typeInfo">How to serialize the value for <see cref="MemoCacheOptions.SecondLevel"/>; <see langword="null"/> to keep it in memory only.</param>
    internal ValueTask<T> FetchOrServeStale<T>(
        string key,
        Func<CancellationToken, Task<T>> fetcher,
        in EntrySettings settings,
        T? stale,
        EntryFreshness freshness,
        CancellationToken ct,
        JsonTypeInfo<T>? typeInfo = null)
    {
        var storeKey = StoreKey(key);
        var fetch = new Fetch<T>(this, key, storeKey, fetcher, settings, StoreTags(settings.Tags), _secondLevel is null ? null : typeInfo);
        if (freshness.CanRevalidate)
        {
            ServeStaleAndRevalidate(_flights, storeKey, key, fetch, static (f, token) => f.Cache.RunFetchAsync(f, token), inspect: null);
            return new ValueTask<T>(stale!);
        }

        if (!freshness.CanServeOnError)
        {
            return new ValueTask<T>(_flights.CallAsync(storeKey, fetch, static (f, token) => f.Cache.RunFetchAsync(f, token), ct));
        }

        // A caller that may leave with the stale value at the soft timeout must not take the fetch down with it when
        // it goes: its place in the flight lasts until the cache is disposed, and its own token bounds only its wait.
        var flight = _flights.CallAsync(
            storeKey, fetch, static (f, token) => f.Cache.RunFetchAsync(f, token), settings.SoftTimeout is null ? ct : _disposing.Token);
        return new ValueTask<T>(AwaitOrServeStaleAsync(flight, key, settings.SoftTimeout, isFailure: null, static (T value) => value, unused: null, ct));
    }

    /// <summary>
    /// The synchronous <c>FetchOrServeStale</c> for memoized synchronous functions: no soft timeout, and a
    /// refresh runs <paramref name="function"/> on the thread pool.
    /// </summary>
    internal T FetchOrServeStaleSync<T>(string key, Func<T> function, EntrySettings settings, T? stale, EntryFreshness freshness)
    {
        var storeKey = StoreKey(key);
        var storeTags = StoreTags(settings.Tags);
        if (freshness.CanRevalidate)
        {
            var refresh = new Fetch<T>(this, key, storeKey, token => Task.Run(function, token), settings, storeTags, TypeInfo: null);
            ServeStaleAndRevalidate(_flights, storeKey, key, refresh, static (f, token) => f.Cache.RunFetchAsync(f, token), inspect: null);
            return stale!;
        }

        try
        {
            return _flights.Call(storeKey, () =>
            {
                var since = _invalidations.Version;
                if (TryReadFresh<T>(key, storeKey, out var stored))
                {
                    return stored;
                }

                var value = function();
                StoreFetched(since, key, storeKey, value, settings, storeTags);
                return value;
            });
        }
        catch (Exception) when (freshness.CanServeOnError && TryServeStale<T>(key, _staleOnError, out var fallback))
        {
            return fallback;
        }
    }

    /// <summary>
    /// For a caller about to be served the stale entry under <paramref name="key"/> inside its stale-while-revalidate
    /// window: counts the stale hit, and starts a background refresh as the flight <paramref name="flightKey"/> of
    /// <paramref name="flights"/>, unless a flight for it is in progress (which will store a new value anyway). The work
    /// gets a token cancelled when the cache is disposed. Counts the refresh; a failure (an exception, or what
    /// <paramref name="inspect"/> makes of the result) is counted and raised as <see cref="RefreshFailed"/>.
    /// </summary>
    /// <returns><see langword="true"/> when this call started the refresh.</returns>
    internal bool ServeStaleAndRevalidate<TState, TResult>(
        SharedCall flights, string flightKey, string key, TState state, Func<TState, CancellationToken, Task<TResult>> work, Func<TResult, Exception?>? inspect)
    {
        _staleWhileRevalidating.Increment();
        if (Volatile.Read(ref _disposed) != 0 ||
            !flights.TryStart(flightKey, (State: state, Work: work, Token: _disposing.Token), static (s, _) => s.Work(s.State, s.Token), out var task))
        {
            return false;
        }

        Interlocked.Increment(ref _refreshes);
        _ = ObserveRefreshAsync(task, key, inspect);
        return true;
    }

    /// <summary>
    /// Awaits a flight for a caller that read a stale entry it may serve on error: when the flight throws (other
    /// than for <paramref name="ct"/>), when <paramref name="isFailure"/> says its result is a failure, or when it
    /// outlasts <paramref name="softTimeout"/>, the caller gets the entry (read again, so an invalidated one is
    /// never served) through <paramref name="fromStale"/>, if it is still within its stale-if-error window. With a
    /// soft timeout, the caller must have joined the flight with <see cref="Disposing"/> rather than its own token, so
    /// that leaving with the stale value does not cancel the work.
    /// </summary>
    /// <param name="flight">The caller's wait for the flight.</param>
    /// <param name="key">The entry's key.</param>
    /// <param name="softTimeout">How long to wait before serving the stale entry; <see langword="null"/> to wait for the flight.</param>
    /// <param name="isFailure">Whether a result counts as a failure (an HTTP 5xx); <see langword="null"/> when only exceptions do.</param>
    /// <param name="fromStale">Turns the stale value into a result.</param>
    /// <param name="unused">Given a result the caller did not use because it served the stale value instead (to release it).</param>
    /// <param name="ct">The caller's token: its cancellation is no failure and ends only its wait.</param>
    internal async Task<TResult> AwaitOrServeStaleAsync<TValue, TResult>(
        Task<TResult> flight,
        string key,
        TimeSpan? softTimeout,
        Func<TResult, bool>? isFailure,
        Func<TValue, TResult> fromStale,
        Action<TResult>? unused,
        CancellationToken ct)
    {
        TResult result;
        try
        {
            if (softTimeout is { } timeout)
            {
                try
                {
                    result = await flight.WaitAsync(timeout, _time, ct).ConfigureAwait(false);
                }
                catch (TimeoutException) when (!flight.IsCompleted)
                {
                    if (TryServeStale<TValue>(key, _staleOnTimeout, out var early))
                    {
                        // The fetch goes on and stores its result; nobody waits for it, so its outcome is observed here.
                        _ = flight.ContinueWith(
                            static (t, state) =>
                            {
                                if (t.IsCompletedSuccessfully)
                                {
                                    ((Action<TResult>?)state)?.Invoke(t.Result);
                                }
                                else
                                {
                                    _ = t.Exception;
                                }
                            },
                            unused,
                            CancellationToken.None,
                            TaskContinuationOptions.ExecuteSynchronously,
                            TaskScheduler.Default);
                        return fromStale(early);
                    }

                    result = await flight.WaitAsync(ct).ConfigureAwait(false);
                }
            }
            else
            {
                result = await flight.ConfigureAwait(false);
            }
        }
        catch (Exception) when (!ct.IsCancellationRequested && TryServeStale<TValue>(key, _staleOnError, out var fallback))
        {
            return fromStale(fallback);
        }

        if (isFailure is not null && isFailure(result) && TryServeStale<TValue>(key, _staleOnError, out var instead))
        {
            unused?.Invoke(result);
            return fromStale(instead);
        }

        return result;
    }

    /// <summary>
    /// Stores a fetched value unless an invalidation since <paramref name="since"/> covers it; stores first and then
    /// checks again, so an invalidation that slips in between still removes it.
    /// </summary>
    /// <remarks>For work outside the cache (the HttpClient handler's flights); see the overload for the parameters.</remarks>
    internal void StoreFetched<T>(long since, string key, T value, in EntrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(key);
        StoreFetched(since, key, StoreKey(key), value, settings, StoreTags(settings.Tags));
    }

    /// <summary>
    /// Stores a fetched value unless an invalidation since <paramref name="since"/> covers it; stores first and then
    /// checks again, so an invalidation that slips in between still removes it.
    /// </summary>
    /// <param name="since">The <see cref="InvalidationVersion"/> read before the work started.</param>
    /// <param name="key">The key.</param>
    /// <param name="storeKey">The key in the store.</param>
    /// <param name="value">The value.</param>
    /// <param name="settings">Time to live, tags and windows.</param>
    /// <param name="storeTags">The tags in the store (<see cref="StoreTags"/> of the settings' tags).</param>
    internal void StoreFetched<T>(long since, string key, string storeKey, T value, in EntrySettings settings, string[]? storeTags)
    {
        IReadOnlyList<string> tags = settings.Tags ?? [];
        if (_invalidations.CoversSince(since, key, tags))
        {
            return;
        }

        object? stored = value;
        if (Put(key, storeKey, ref stored, settings.Ttl, storeTags, settings.StaleWhileRevalidate, settings.StaleIfError) &&
            _invalidations.CoversSince(since, key, tags))
        {
            _store.RemoveIfValue(storeKey, stored);
        }
    }

    /// <summary>The leader's work: runs the fetcher and stores its result. Followers only wait for it.</summary>
    private async Task<T> RunFetchAsync<T>(Fetch<T> fetch, CancellationToken token)
    {
        var since = _invalidations.Version;

        // A flight that finished just before this one started may have stored the value already.
        if (TryReadFresh<T>(fetch.Key, fetch.StoreKey, out var stored))
        {
            return stored;
        }

        if (fetch.TypeInfo is not null)
        {
            return await RunSharedFetchAsync(fetch, since, token).ConfigureAwait(false);
        }

        var value = await fetch.Fetcher(token).ConfigureAwait(false);
        StoreFetched(since, fetch.Key, fetch.StoreKey, value, fetch.Settings, fetch.StoreTags);
        return value;
    }

    private bool TryReadFresh<T>(string key, string storeKey, [MaybeNullWhen(false)] out T value)
    {
        if (_store.TryGet(storeKey, out var raw) && (raw is not WindowedEntry windowed || TryUnwrapFresh(windowed, out raw)))
        {
            value = Cast<T>(key, raw);
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Reads the entry again for a caller about to serve it on error: only a windowed entry still within its
    /// stale-if-error window (a fresh one, stored meanwhile, is served too). Counts it in <paramref name="counter"/> when stale.
    /// </summary>
    private bool TryServeStale<T>(string key, StripedCounter counter, [MaybeNullWhen(false)] out T value)
    {
        var now = _time.GetTimestamp();
        if (_store.TryPeek(StoreKey(key), out var raw) && raw is WindowedEntry windowed && windowed.FreshnessAt(now, _time).CanServeOnError)
        {
            value = Cast<T>(key, windowed.Value);
            if (!windowed.IsFreshAt(now))
            {
                counter.Increment();
            }

            return true;
        }

        value = default;
        return false;
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A refresh nobody waits for reports its failure through RefreshFailed; it must never surface as an unobserved exception.")]
    private async Task ObserveRefreshAsync<TResult>(Task<TResult> refresh, string key, Func<TResult, Exception?>? inspect)
    {
        Exception? failure;
        try
        {
            var result = await refresh.ConfigureAwait(false);
            failure = inspect?.Invoke(result);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        if (failure is null || (failure is OperationCanceledException && _disposing.IsCancellationRequested))
        {
            return;
        }

        Interlocked.Increment(ref _refreshFailures);
        if (RefreshFailed is { } handler)
        {
            RaiseSafely(handler, new CacheRefreshFailedEventArgs(key, failure));
        }
    }

    /// <summary>Records an invalidation for fetches in progress, then tells the hook; called before any entry goes.</summary>
    private void BeginInvalidation(CacheInvalidation invalidation)
    {
        _invalidations.Record(invalidation);
        if (_secondLevel is not null)
        {
            InvalidateSecondLevel(invalidation);
        }

        Invalidating?.Invoke(invalidation);
    }
}
