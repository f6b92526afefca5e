using System.ComponentModel.DataAnnotations;

namespace Coalesce.AspNetCore;

/// <summary>
/// A per-client rate limit on network calls: at most <see cref="PermitsPerSecond"/> calls start each second.
/// Coalesced and memoized callers take no permit; each retry and each fallback address does not take another
/// either: one permit covers one call through the whole pipeline.
/// </summary>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class HttpRateLimitOptions
{
    /// <summary>
    /// Calls allowed per second. Fractions spread the permits out: 0.5 is one call every 2 seconds. Default: 10.
    /// Range: more than 0 and at most 1,000,000.
    /// </summary>
    /// <remarks>See docs/outbound-http.md in the repository.</remarks>
    [Range(0d, 1_000_000d, MinimumIsExclusive = true)]
    public double PermitsPerSecond { get; set; } = 10;

    /// <summary>
    /// How many calls may wait for a permit, oldest first. A call beyond the queue fails at once with
    /// <see cref="RateLimitRejectedException"/>; 0 means no call waits. Default: 100. Range: 0 to 1,000,000.
    /// </summary>
    /// <remarks>See docs/outbound-http.md in the repository.</remarks>
    [Range(0, 1_000_000)]
    public int QueueLimit { get; set; } = 100;
}
