using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Coalesce.Resilience;

/// <summary>
/// Adds the Coalesce rate-limit strategy to any Polly pipeline builder, generic or not (Polly.RateLimiting
/// is not a dependency). Use <see cref="WindowRateLimiter"/> for "N calls per second" on a <see cref="TimeProvider"/>.
/// </summary>
internal static class CoalesceRateLimiterBuilderExtensions
{
    /// <summary>Every execution takes a permit from <paramref name="limiter"/>.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="limiter">The limiter; owned by the caller (not disposed with the pipeline).</param>
    /// <param name="name">The name for logs, metrics and the rejection message.</param>
    /// <param name="logger">Receives waiting and rejection events; none by default.</param>
    /// <param name="layer">The <c>coalesce.layer</c> metric tag, e.g. <c>httpclient</c>.</param>
    public static TBuilder AddCoalesceRateLimiter<TBuilder>(
        this TBuilder builder, RateLimiter limiter, string name, ILogger? logger = null, string layer = ResilienceMetrics.Layer)
        where TBuilder : ResiliencePipelineBuilderBase
    {
        ArgumentNullException.ThrowIfNull(limiter);
        return builder.AddCoalesceRateLimiter(_ => limiter, name, logger, layer);
    }

    /// <summary>
    /// Every execution takes a permit from the limiter <paramref name="limiterSelector"/> picks for its
    /// context (e.g. from a <see cref="ResiliencePropertyKey{TValue}"/> holding the partition key).
    /// </summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="limiterSelector">Picks the limiter for one execution.</param>
    /// <param name="name">The name for logs, metrics and the rejection message.</param>
    /// <param name="logger">Receives waiting and rejection events; none by default.</param>
    /// <param name="layer">The <c>coalesce.layer</c> metric tag.</param>
    public static TBuilder AddCoalesceRateLimiter<TBuilder>(
        this TBuilder builder, Func<ResilienceContext, RateLimiter> limiterSelector, string name, ILogger? logger = null, string layer = ResilienceMetrics.Layer)
        where TBuilder : ResiliencePipelineBuilderBase
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(limiterSelector);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(layer);
        return builder.AddStrategy(_ => new RateLimiterResilienceStrategy(limiterSelector, name, layer, logger ?? NullLogger.Instance));
    }
}
