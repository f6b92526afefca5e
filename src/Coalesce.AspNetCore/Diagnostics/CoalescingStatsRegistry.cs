using System.Collections.Concurrent;

namespace Coalesce.AspNetCore;

/// <summary>
/// The live coalescing figures of an app: all requests, each endpoint, each coalescing HttpClient, and the
/// memo cache. Resolvable from DI after <c>AddRequestCoalescing</c>; <c>GET /_coalesce/stats</c> and the
/// <c>Coalesce</c> meter read from it. Counting is lock-free; a snapshot reads each counter once.
/// </summary>
public sealed class CoalescingStatsRegistry
{
    private readonly ConcurrentDictionary<string, SharedCallCounters> _endpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, HttpClientCounters> _httpClients = new(StringComparer.Ordinal);
    private readonly MemoCache _cache;

    /// <summary>Creates a registry that reports on <paramref name="cache"/>.</summary>
    /// <param name="cache">The app's memo cache.</param>
    public CoalescingStatsRegistry(MemoCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        _cache = cache;
    }

    internal SharedCallCounters Requests { get; } = new();

    internal IEnumerable<KeyValuePair<string, SharedCallCounters>> EndpointCounters => _endpoints;

    internal IEnumerable<KeyValuePair<string, HttpClientCounters>> HttpClientCounters => _httpClients;

    /// <summary>Reads every figure once.</summary>
    /// <returns>The figures, endpoints and clients ordered by name.</returns>
    public CoalescingStatsSnapshot GetSnapshot()
    {
        var cache = _cache.GetStats();
        return new CoalescingStatsSnapshot(
            FlightCounts.From(Requests),
            new CacheCounts(cache.Hits, cache.Misses, cache.Size, cache.Evictions),
            [.. _endpoints.OrderBy(e => e.Key, StringComparer.Ordinal)
                .Select(e => new EndpointCounts(e.Key, e.Value.Hits, e.Value.Misses, e.Value.Errors, e.Value.Active))],
            [.. _httpClients.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Value.Snapshot(c.Key))]);
    }

    internal SharedCallCounters Endpoint(string name) => _endpoints.GetOrAdd(name, static _ => new SharedCallCounters());

    internal HttpClientCounters HttpClient(string name) => _httpClients.GetOrAdd(name, static _ => new HttpClientCounters());
}
