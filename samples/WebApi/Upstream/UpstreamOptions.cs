namespace WebApi.Upstream;

/// <summary>The flaky upstream's settings, from the <c>Upstream</c> configuration section.</summary>
internal sealed class UpstreamOptions
{
    public const string Section = "Upstream";

    /// <summary>The share of calls to the primary upstream that fail with 503, from 0 to 1. Default: 0.3.</summary>
    public double FailureRate { get; set; } = 0.3;

    /// <summary>
    /// The share of calls through the fallback origin that fail with 503, from 0 to 1. Default: 0.3, so that now
    /// and then both origins fail in one attempt and the client retries.
    /// </summary>
    public double FallbackFailureRate { get; set; } = 0.3;

    /// <summary>Seeds the failure draw so a run fails the same calls every time; unset draws at random.</summary>
    public int? Seed { get; set; }

    /// <summary>How long the upstream takes to answer, in milliseconds. Default: 30.</summary>
    public int LatencyMs { get; set; } = 30;

    /// <summary>
    /// Where the app itself answers, used as the weather client's base address. Unset: the server's first
    /// listening address (with a wildcard host replaced by 127.0.0.1).
    /// </summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>
    /// The backup origin the weather client falls back to: the same app reached under another host name, where
    /// the upstream never fails. It must be an origin only (scheme, host, port), since a fallback keeps the
    /// request's path. Default: <c>http://localhost:5080</c>, the sample's own port under another name; set it
    /// when the app listens elsewhere.
    /// </summary>
    public Uri FallbackAddress { get; set; } = new("http://localhost:5080");
}
