using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Coalescing figures for one layer (all requests, one endpoint).</summary>
/// <param name="Hits">Callers served without running the work themselves (coalesced or memoized).</param>
/// <param name="Misses">Real executions.</param>
/// <param name="Errors">Executions that failed, counted once per execution rather than once per waiter.</param>
/// <param name="Active">Executions in flight now.</param>
public sealed record FlightCounts(long Hits, long Misses, long Errors, long Active)
{
    /// <summary><c>Hits / (Hits + Misses)</c>, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => Hits + Misses == 0 ? 0d : (double)Hits / (Hits + Misses);
}
