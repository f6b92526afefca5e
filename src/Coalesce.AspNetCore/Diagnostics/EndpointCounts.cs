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
    /// <summary><c>Hits / (Hits + Misses)</c>, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => Hits + Misses == 0 ? 0d : (double)Hits / (Hits + Misses);
}
