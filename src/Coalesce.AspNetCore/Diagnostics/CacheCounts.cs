using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Figures of the app's <see cref="MemoCache"/>, where memoized responses live.</summary>
/// <param name="Hits">Lookups that found a live entry.</param>
/// <param name="Misses">Lookups that found none.</param>
/// <param name="Size">Entries held now.</param>
/// <param name="Evictions">Entries evicted to respect the size bound.</param>
public sealed record CacheCounts(long Hits, long Misses, [property: JsonPropertyOrder(11)] long Size, [property: JsonPropertyOrder(12)] long Evictions)
{
    /// <summary><c>Hits / (Hits + Misses)</c>, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => Hits + Misses == 0 ? 0d : (double)Hits / (Hits + Misses);
}
