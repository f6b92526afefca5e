namespace Coalesce.AspNetCore;

/// <summary>
/// Requests per second by outcome over the last minute (or since the start or the last reset, when that was sooner),
/// rounded to four decimals. The outcomes are those of the totals beside them.
/// </summary>
/// <param name="WindowSeconds">The seconds the rates cover: 60 once the figures are a minute old.</param>
/// <param name="Requests">All requests counted.</param>
/// <param name="Hits">Requests answered without running the endpoint themselves.</param>
/// <param name="Misses">Executions led for others to share.</param>
/// <param name="MemoHits">Requests answered from a memoized response.</param>
/// <param name="Collapsed">Requests answered by another request's execution.</param>
/// <param name="StaleAnswers">Requests answered with a stale memoized response.</param>
/// <param name="Bypasses">Executions run for one request alone.</param>
/// <param name="Errors">Executions that failed.</param>
/// <param name="HitRate"><c>Hits / (Hits + Misses)</c> over the window, or 0 when there were none.</param>
public sealed record RateCounts(
    double WindowSeconds, double Requests, double Hits, double Misses, double MemoHits, double Collapsed,
    double StaleAnswers, double Bypasses, double Errors, double HitRate)
{
    internal static RateCounts Of(OutcomeTotals counted, double seconds)
    {
        // Less than a second of figures would make a handful of requests look like a flood.
        var per = Math.Max(seconds, 1d);
        return new RateCounts(
            StatsRounding.Round(seconds),
            StatsRounding.Round((counted.Hits + counted.Misses + counted.Bypasses) / per),
            StatsRounding.Round(counted.Hits / per),
            StatsRounding.Round(counted.Misses / per),
            StatsRounding.Round(counted.MemoHits / per),
            StatsRounding.Round(counted.Collapsed / per),
            StatsRounding.Round(counted.StaleAnswers / per),
            StatsRounding.Round(counted.Bypasses / per),
            StatsRounding.Round(counted.Errors / per),
            StatsRounding.Rate(counted.Hits, counted.Misses));
    }
}
