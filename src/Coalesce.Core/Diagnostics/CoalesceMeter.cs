namespace Coalesce.Diagnostics;

/// <summary>
/// The name of the <c>Coalesce</c> meter and the attribute names its instruments share. There is no process-wide
/// meter: each owner (the app's registry, a <see cref="MemoCache"/>, a <c>Resilient</c> wrapper)
/// creates its meter from the <see cref="System.Diagnostics.Metrics.IMeterFactory"/> it is given.
/// </summary>
internal static class CoalesceMeter
{
    public const string Name = "Coalesce";

    /// <summary>What became of a request, call or lookup: <c>hit</c>, <c>shared</c>, <c>miss</c> or <c>bypass</c>.</summary>
    public const string ResultTag = "coalesce.result";

    /// <summary>The exception type of a failed execution (OpenTelemetry's <c>error.type</c>).</summary>
    public const string ErrorTypeTag = "error.type";

    public const string CacheNameTag = "coalesce.cache.name";

    /// <summary>Why a cache served a stale entry: <c>revalidating</c>, <c>error</c> or <c>timeout</c>.</summary>
    public const string StaleReasonTag = "coalesce.cache.stale_reason";

    /// <summary>What the resilience counters count for: <c>resilient</c> (a wrapper) or <c>http_client</c>.</summary>
    public const string ComponentTag = "coalesce.component";

    /// <summary>The wrapper's or the HttpClient's name.</summary>
    public const string NameTag = "coalesce.name";

    /// <summary>The histogram buckets (seconds) of ASP.NET Core's <c>http.server.request.duration</c>.</summary>
    public static readonly IReadOnlyList<double> DurationBuckets =
        [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
}
