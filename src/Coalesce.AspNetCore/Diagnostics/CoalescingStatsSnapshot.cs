using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>
/// Everything <c>GET /_coalesce/stats</c> shows: aggregates only, never keys or user data.
/// </summary>
/// <param name="Requests">All coalesced requests.</param>
/// <param name="Cache">The app's memo cache.</param>
/// <param name="Endpoints">Each endpoint (by method and route pattern) that has seen a coalescing-eligible request.</param>
/// <param name="HttpClients">Each named HttpClient registered with <c>AddCoalescing</c>.</param>
public sealed record CoalescingStatsSnapshot(
    FlightCounts Requests,
    CacheCounts Cache,
    IReadOnlyList<EndpointCounts> Endpoints,
    IReadOnlyList<HttpClientCounts> HttpClients)
{
    /// <summary>Seconds since the figures began (the registry was created with the app), rounded to four decimals.</summary>
    [JsonPropertyOrder(20)]
    public double UptimeSeconds { get; init; }

    /// <summary>Seconds the totals cover: since the start, or since the last reset; rounded to four decimals.</summary>
    [JsonPropertyOrder(21)]
    public double CountingSeconds { get; init; }
}
