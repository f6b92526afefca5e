using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Coalescing figures for one endpoint and method, such as <c>GET /products/{id}</c>.</summary>
/// <param name="Name">The method and route pattern.</param>
/// <param name="Hits">Callers served without running the handler themselves.</param>
/// <param name="Misses">Handler executions.</param>
/// <param name="Errors">Executions that failed.</param>
/// <param name="Active">Executions in flight now.</param>
public sealed record EndpointCounts(string Name, long Hits, long Misses, long Errors, long Active)
{
    /// <summary>Stale responses served while a background refresh ran (stale-while-revalidate).</summary>
    [JsonPropertyOrder(11)]
    public long StaleHits { get; init; }

    /// <summary>Stale responses served instead of a failed execution (stale-if-error).</summary>
    [JsonPropertyOrder(12)]
    public long StaleOnError { get; init; }

    /// <summary>Background refreshes of stale responses started.</summary>
    [JsonPropertyOrder(13)]
    public long Refreshes { get; init; }

    /// <summary>Background refreshes that failed; the stale response stayed.</summary>
    [JsonPropertyOrder(14)]
    public long RefreshFailures { get; init; }

    /// <summary><c>Hits / (Hits + Misses)</c>, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => Hits + Misses == 0 ? 0d : (double)Hits / (Hits + Misses);
}
