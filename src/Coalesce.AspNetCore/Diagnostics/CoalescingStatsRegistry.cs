using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>
/// The live coalescing figures of an app: all requests, each endpoint, each coalescing HttpClient, and the
/// memo cache. Resolvable from DI after <c>AddRequestCoalescing</c>; <c>GET /_coalesce/stats</c> reads from it.
/// Built with the app's <see cref="IMeterFactory"/> (as DI builds it), it also records each request and outbound
/// call on the <c>Coalesce</c> meter. Counting is lock-free; a snapshot reads each counter once.
/// </summary>
public sealed class CoalescingStatsRegistry
{
    private readonly ConcurrentDictionary<string, EndpointCounters> _endpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HttpClientCounters> _httpClients = new(StringComparer.Ordinal);
    private readonly MemoCache _cache;

    /// <summary>Creates a registry that reports on <paramref name="cache"/>.</summary>
    /// <param name="cache">The app's memo cache.</param>
    /// <remarks>Such a registry publishes nothing on a meter; DI uses the constructor with a meter factory.</remarks>
    public CoalescingStatsRegistry(MemoCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _cache = cache;
    }

    /// <summary>
    /// Creates a registry that reports on <paramref name="cache"/> and records requests and outbound calls on the
    /// <c>Coalesce</c> meter of <paramref name="meterFactory"/>.
    /// </summary>
    /// <param name="cache">The app's memo cache.</param>
    /// <param name="meterFactory">The app's meter factory.</param>
    public CoalescingStatsRegistry(MemoCache cache, IMeterFactory meterFactory)
        : this(cache)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Metrics = new CoalescingMetrics(meterFactory.Create(new MeterOptions(CoalesceMeter.Name)));
    }

    /// <summary>The app's instruments; <see langword="null"/> when built without a meter factory.</summary>
    internal CoalescingMetrics? Metrics { get; }

    /// <summary>Reads every figure once.</summary>
    /// <returns>The figures, endpoints and clients ordered by name.</returns>
    public CoalescingStatsSnapshot GetSnapshot()
    {
        var cache = _cache.GetStats();

        // All requests are the sum of the endpoints' (each request counts once, on its endpoint, not twice).
        long hits = 0, misses = 0, errors = 0, active = 0;
        foreach (var (_, endpoint) in _endpoints)
        {
            var flights = endpoint.Flights;
            hits += flights.Hits;
            misses += flights.Misses;
            errors += flights.Errors;
            active += flights.Active;
        }

        return new CoalescingStatsSnapshot(
            new FlightCounts(hits, misses, errors, active),
            new CacheCounts(cache.Hits, cache.Misses, cache.Size, cache.Evictions),
            [.. _endpoints.OrderBy(e => e.Key, StringComparer.Ordinal)
                .Select(e => new EndpointCounts(e.Key, e.Value.Flights.Hits, e.Value.Flights.Misses, e.Value.Flights.Errors, e.Value.Flights.Active)
                {
                    StaleHits = e.Value.Stale.WhileRevalidating,
                    StaleOnError = e.Value.Stale.OnError,
                    Refreshes = e.Value.Stale.Refreshes,
                    RefreshFailures = e.Value.Stale.RefreshFailures,
                    UnkeyedInputs = e.Value.Inputs is { } inputs ? [.. inputs.Learned.Select(i => i.ToString())] : [],
                    InputRefusals = e.Value.Inputs?.Refused ?? 0,
                    IdempotencyClaims = e.Value.IdempotencyIfAny?.Claims ?? 0,
                    IdempotencyReplays = e.Value.IdempotencyIfAny?.Replays ?? 0,
                    IdempotencyConflicts = e.Value.IdempotencyIfAny?.Conflicts ?? 0,
                    IdempotencyMismatches = e.Value.IdempotencyIfAny?.Mismatches ?? 0,
                    IdempotencyRejections = e.Value.IdempotencyIfAny?.Rejections ?? 0,
                })],
            [.. _httpClients.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value.Snapshot())]);
    }

    /// <summary>The counters of one endpoint and method, listed in the stats as <c>"{method} {route}"</c>.</summary>
    internal EndpointCounters Endpoint(string method, string route, EndpointInputs? inputs = null) =>
        _endpoints.GetOrAdd($"{method} {route}", static (_, state) => new EndpointCounters(state.method, state.route, state.Metrics) { Inputs = state.inputs }, (method, route, Metrics, inputs));

    internal HttpClientCounters HttpClient(string name) =>
        _httpClients.GetOrAdd(name, static (name, metrics) => new HttpClientCounters(name, metrics), Metrics);
}
