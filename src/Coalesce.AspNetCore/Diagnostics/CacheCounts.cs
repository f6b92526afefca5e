using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>
/// Figures of the app's <see cref="MemoCache"/>, where memoized responses live. A request to a memoized endpoint counts
/// once: a hit when a memoized response answered it, a miss when it led an execution; a follower of that execution, a
/// stale answer and a request that ran alone count in the request figures only, however often they looked.
/// </summary>
/// <param name="Hits">Lookups that found a live entry (requests answered from it, and the app's own reads).</param>
/// <param name="Misses">Lookups that found none and went on to compute the value.</param>
/// <param name="Size">Entries held now.</param>
/// <param name="Evictions">Entries evicted to respect the size bound.</param>
public sealed record CacheCounts(long Hits, long Misses, [property: JsonPropertyOrder(11)] long Size, [property: JsonPropertyOrder(12)] long Evictions)
{
    /// <summary><c>Hits / (Hits + Misses)</c> rounded to four decimals, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => StatsRounding.Rate(Hits, Misses);

    /// <summary>The memory the entries hold, as counted against the cache's byte bound.</summary>
    [JsonPropertyOrder(20)]
    public long Bytes { get; init; }

    /// <summary>Entries dropped because their time to live ran out.</summary>
    [JsonPropertyOrder(21)]
    public long Expirations { get; init; }
}
