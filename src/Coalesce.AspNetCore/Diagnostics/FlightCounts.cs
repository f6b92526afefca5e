using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>
/// Coalescing figures for all requests; each request counts once, in one outcome: a hit (<see cref="MemoHits"/>,
/// <see cref="Collapsed"/> or <see cref="StaleAnswers"/>), a miss or a bypass.
/// </summary>
/// <param name="Hits">Requests served without running the endpoint themselves: memo hits, collapsed followers and stale answers.</param>
/// <param name="Misses">Executions led for a flight others could share (a bypass is not a miss: see <see cref="Bypasses"/>).</param>
/// <param name="Errors">Executions that failed, counted once per execution rather than once per waiter.</param>
/// <param name="Active">Executions in flight now.</param>
public sealed record FlightCounts(long Hits, long Misses, long Errors, long Active)
{
    /// <summary><c>Hits / (Hits + Misses)</c> rounded to four decimals, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => StatsRounding.Rate(Hits, Misses);

    /// <summary>Requests answered from a memoized response (fresh).</summary>
    [JsonPropertyOrder(20)]
    public long MemoHits { get; init; }

    /// <summary>Requests answered by another request's execution (followers of a flight, or another instance's result).</summary>
    [JsonPropertyOrder(21)]
    public long Collapsed { get; init; }

    /// <summary>Requests answered with a memoized response past its time to live (stale-while-revalidate, stale-if-error).</summary>
    [JsonPropertyOrder(22)]
    public long StaleAnswers { get; init; }

    /// <summary>
    /// Executions run for one request alone, nobody could share: a ranged or conditional request with no flight to
    /// follow, a key passing through after a response that could not be shared, a key or tag function that failed.
    /// Not in <see cref="Misses"/> nor in <see cref="HitRate"/>.
    /// </summary>
    [JsonPropertyOrder(23)]
    public long Bypasses { get; init; }

    /// <summary>The same outcomes per second over the last minute.</summary>
    [JsonPropertyOrder(30)]
    public RateCounts? PerSecond { get; init; }
}
