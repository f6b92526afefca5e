using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Figures for one named <see cref="System.Net.Http.HttpClient"/> registered with <c>AddCoalescing</c>.</summary>
/// <param name="Name">The client's name.</param>
/// <param name="Hits">Calls served by another caller's network call or by memoization.</param>
/// <param name="Misses">Calls that went to the network (once per coalesced flight).</param>
/// <param name="Errors">Flights that failed after every retry and fallback.</param>
/// <param name="Active">Flights in progress now.</param>
/// <param name="Retries">Retry attempts made.</param>
/// <param name="Fallbacks">Times a fallback base address or fallback response was used.</param>
public sealed record HttpClientCounts(string Name, long Hits, long Misses, long Errors, long Active,
    [property: JsonPropertyOrder(11)] long Retries, [property: JsonPropertyOrder(12)] long Fallbacks)
{
    /// <summary><c>Hits / (Hits + Misses)</c> rounded to four decimals, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => StatsRounding.Rate(Hits, Misses);
}
