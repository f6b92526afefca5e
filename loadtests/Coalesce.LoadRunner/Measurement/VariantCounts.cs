namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// What the app counted for one variant since the last reset (<c>GET /_counts</c>): handler executions, the coalescing
/// hits and misses of its endpoint, and for the outage variants their answers, stale answers, refreshes and the
/// executions that failed because the backend was down.
/// </summary>
internal sealed record VariantCounts(
    string Variant,
    long Executions,
    long Hits,
    long Misses,
    long Failed,
    long AnsweredWhileDown,
    long FailedWhileDown,
    long BackendFailures,
    long StaleHits,
    long StaleOnError,
    long Refreshes,
    long RefreshFailures)
{
    public static VariantCounts None(string variant) => new(variant, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>The share of requests served without running the handler, or null when the endpoint counts none.</summary>
    public double? HitRate => Hits + Misses > 0 ? (double)Hits / (Hits + Misses) : null;
}
