using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>
/// The live coalescing figures of an app: all requests, each endpoint, each coalescing HttpClient, and the
/// memo cache. Resolvable from DI after <c>AddRequestCoalescing</c>; <c>GET /_coalesce/stats</c> reads from it.
/// Built with the app's <see cref="IMeterFactory"/> (as DI builds it), it also records each request and outbound
/// call on the <c>Coalesce</c> meter. Counting is lock-free and allocates nothing; a snapshot reads each counter once.
/// </summary>
/// <remarks>
/// Rates over the last minute come from a timer of the registry's <see cref="TimeProvider"/> that, once a second,
/// writes down each endpoint's totals (<see cref="OutcomeHistory"/>): the request path never reads the clock for them.
/// </remarks>
public sealed class CoalescingStatsRegistry : IDisposable
{
    private static readonly TimeSpan TickPeriod = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<string, EndpointCounters> _endpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HttpClientCounters> _httpClients = new(StringComparer.Ordinal);
    private readonly MemoCache _cache;
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly ITimer _ticker;

    // Guards the ticks below and every endpoint's history; taken once a second and by snapshots, never by a request.
    private readonly Lock _ticks = new();
    private readonly long[] _tickTimes = new long[OutcomeHistory.Capacity];
    private long _tick;
    private long _firstTick;

    /// <summary>Creates a registry that reports on <paramref name="cache"/>.</summary>
    /// <param name="cache">The app's memo cache.</param>
    /// <remarks>Such a registry publishes nothing on a meter; DI uses the constructor with a meter factory.</remarks>
    public CoalescingStatsRegistry(MemoCache cache)
        : this(cache, meterFactory: null, TimeProvider.System)
    {
    }

    /// <summary>
    /// Creates a registry that reports on <paramref name="cache"/> and records requests and outbound calls on the
    /// <c>Coalesce</c> meter of <paramref name="meterFactory"/>.
    /// </summary>
    /// <param name="cache">The app's memo cache.</param>
    /// <param name="meterFactory">The app's meter factory.</param>
    public CoalescingStatsRegistry(MemoCache cache, IMeterFactory meterFactory)
        : this(cache, meterFactory, TimeProvider.System)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
    }

    /// <summary>
    /// Creates a registry as <see cref="CoalescingStatsRegistry(MemoCache, IMeterFactory)"/> does, whose uptime and
    /// rates follow <paramref name="timeProvider"/>.
    /// </summary>
    /// <param name="cache">The app's memo cache.</param>
    /// <param name="meterFactory">The app's meter factory; <see langword="null"/> to publish nothing on a meter.</param>
    /// <param name="timeProvider">The clock of the uptime and of the rates over the last minute.</param>
    public CoalescingStatsRegistry(MemoCache cache, IMeterFactory? meterFactory, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _cache = cache;
        _time = timeProvider;
        if (meterFactory is not null)
        {
            Metrics = new CoalescingMetrics(meterFactory.Create(new MeterOptions(CoalesceMeter.Name)));
        }

        _startedAt = timeProvider.GetTimestamp();
        _tickTimes[0] = _startedAt;

        // The timer holds the registry weakly, so one nobody disposes does not live on for its timer's sake (and the
        // timer stops itself once the registry is gone).
        var ticking = new Ticking(new WeakReference<CoalescingStatsRegistry>(this));
        _ticker = timeProvider.CreateTimer(static state => ((Ticking)state!).Run(), ticking, TickPeriod, TickPeriod);
        ticking.Timer = _ticker;
    }

    /// <summary>The app's instruments; <see langword="null"/> when built without a meter factory.</summary>
    internal CoalescingMetrics? Metrics { get; }

    /// <summary>Reads every figure once.</summary>
    /// <returns>The figures, endpoints and clients ordered by name.</returns>
    public CoalescingStatsSnapshot GetSnapshot() => GetSnapshot(endpoint: null);

    /// <summary>
    /// Reads every figure once, listing only the endpoints named <paramref name="endpoint"/> (<c>GET /products/{id}</c>)
    /// or with that route pattern (<c>/products/{id}</c>, its GET and HEAD figures); the other figures stay whole.
    /// </summary>
    internal CoalescingStatsSnapshot GetSnapshot(string? endpoint)
    {
        var cache = _cache.GetStats();
        OutcomeTotals all = default, allBefore = default;
        List<EndpointCounts> endpoints = [];
        double window, uptime, counting;
        lock (_ticks)
        {
            var now = _time.GetTimestamp();
            var since = WindowStart(now);
            window = _time.GetElapsedTime(_tickTimes[since % OutcomeHistory.Capacity], now).TotalSeconds;
            uptime = _time.GetElapsedTime(_startedAt, now).TotalSeconds;
            counting = _time.GetElapsedTime(_tickTimes[_firstTick % OutcomeHistory.Capacity], now).TotalSeconds;
            foreach (var (name, counters) in _endpoints)
            {
                var totals = counters.Totals();
                var before = counters.History.At(since);
                all += totals;
                allBefore += before;
                if (endpoint is null || name == endpoint || counters.Route == endpoint)
                {
                    endpoints.Add(Counts(name, counters, totals, RateCounts.Of(totals - before, window)));
                }
            }
        }

        endpoints.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new CoalescingStatsSnapshot(
            new FlightCounts(all.Hits, all.Misses, all.Errors, all.Active)
            {
                MemoHits = all.MemoHits,
                Collapsed = all.Collapsed,
                StaleAnswers = all.StaleAnswers,
                Bypasses = all.Bypasses,
                PerSecond = RateCounts.Of(all - allBefore, window),
            },
            new CacheCounts(cache.Hits, cache.Misses, cache.Size, cache.Evictions)
            {
                Bytes = cache.ApproximateBytes,
                Expirations = cache.Expirations,
            },
            endpoints,
            [.. _httpClients.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value.Snapshot())])
        {
            UptimeSeconds = StatsRounding.Round(uptime),
            CountingSeconds = StatsRounding.Round(counting),
        };
    }

    /// <summary>The names of the endpoints counted so far (<c>GET /products/{id}</c>), in order.</summary>
    internal IReadOnlyList<string> EndpointNames() => [.. _endpoints.Keys.Order(StringComparer.Ordinal)];

    /// <summary>
    /// Sets every count to zero: requests, endpoints (their rates too), HttpClients and the memo cache's hits and misses.
    /// What is in flight, held or learned stays (active executions, the cache's size and bytes, each endpoint's inputs).
    /// </summary>
    public void Reset()
    {
        lock (_ticks)
        {
            foreach (var (_, counters) in _endpoints)
            {
                counters.Reset();
            }

            foreach (var (_, client) in _httpClients)
            {
                client.Reset();
            }

            _cache.ResetStats();

            // The reset is a tick of its own, at which every total was zero.
            _tick++;
            _tickTimes[_tick % OutcomeHistory.Capacity] = _time.GetTimestamp();
            _firstTick = _tick;
        }
    }

    /// <summary>Stops the timer behind the rates; the figures stay readable.</summary>
    public void Dispose() => _ticker.Dispose();

    /// <summary>The counters of one endpoint and method, listed in the stats as <c>"{method} {route}"</c>.</summary>
    internal EndpointCounters Endpoint(string method, string route, EndpointInputs? inputs = null) =>
        _endpoints.GetOrAdd($"{method} {route}", static (_, state) => new EndpointCounters(state.method, state.route, state.Metrics, state._cache) { Inputs = state.inputs }, (method, route, Metrics, _cache, inputs));

    internal HttpClientCounters HttpClient(string name) =>
        _httpClients.GetOrAdd(name, static (name, metrics) => new HttpClientCounters(name, metrics), Metrics);

    /// <summary>Writes down each endpoint's totals, once a second.</summary>
    internal void Tick()
    {
        lock (_ticks)
        {
            _tick++;
            _tickTimes[_tick % OutcomeHistory.Capacity] = _time.GetTimestamp();
            foreach (var (_, counters) in _endpoints)
            {
                counters.History.Record(_tick, counters.Totals());
            }
        }
    }

    /// <summary>The oldest tick at most a minute before <paramref name="now"/>, and no older than the start or the last reset.</summary>
    private long WindowStart(long now)
    {
        var oldest = Math.Max(_firstTick, _tick - (OutcomeHistory.Capacity - 1));
        for (var tick = oldest; tick < _tick; tick++)
        {
            if (_time.GetElapsedTime(_tickTimes[tick % OutcomeHistory.Capacity], now) <= RateWindow)
            {
                return tick;
            }
        }

        return _tick;
    }

    private sealed class Ticking(WeakReference<CoalescingStatsRegistry> registry)
    {
        public ITimer? Timer { get; set; }

        public void Run()
        {
            if (registry.TryGetTarget(out var target))
            {
                target.Tick();
            }
            else
            {
                Timer?.Dispose();
            }
        }
    }

    private static EndpointCounts Counts(string name, EndpointCounters counters, OutcomeTotals totals, RateCounts perSecond) =>
        new(name, totals.Hits, totals.Misses, totals.Errors, totals.Active)
        {
            StaleHits = counters.Stale.WhileRevalidating,
            StaleOnError = counters.Stale.OnError,
            Refreshes = counters.Stale.Refreshes,
            RefreshFailures = counters.Stale.RefreshFailures,
            UnkeyedInputs = counters.Inputs is { } inputs ? [.. inputs.Learned.Select(i => i.ToString())] : [],
            InputRefusals = counters.Inputs?.Refused ?? 0,
            IdempotencyClaims = counters.IdempotencyIfAny?.Claims ?? 0,
            IdempotencyReplays = counters.IdempotencyIfAny?.Replays ?? 0,
            IdempotencyConflicts = counters.IdempotencyIfAny?.Conflicts ?? 0,
            IdempotencyMismatches = counters.IdempotencyIfAny?.Mismatches ?? 0,
            IdempotencyRejections = counters.IdempotencyIfAny?.Rejections ?? 0,
            Method = counters.Method,
            Route = counters.Route,
            MemoHits = totals.MemoHits,
            Collapsed = totals.Collapsed,
            Streamed = counters.StreamedCount,
            StaleAnswers = totals.StaleAnswers,
            Bypasses = totals.Bypasses,
            PerSecond = perSecond,
        };
}
