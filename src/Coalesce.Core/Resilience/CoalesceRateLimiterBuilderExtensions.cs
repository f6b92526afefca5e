using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.RateLimiting;

namespace Coalesce.Resilience;

/// <summary>
/// Adds Polly.RateLimiting's rate limiter strategy to a pipeline builder, with Coalesce's logs and counters: every
/// execution takes one permit, waiting in the limiter's queue when none is free (its token ends the wait). When the
/// queue is full the execution fails with Polly's <see cref="RateLimiterRejectedException"/>; the callers that
/// face users (<see cref="Resilient"/>, the HttpClient handler) turn it into <see cref="RateLimitRejectedException"/>
/// with <see cref="ToCoalesce"/>. Use <see cref="WindowRateLimiter"/> for "N calls per second" on a
/// <see cref="TimeProvider"/>.
/// </summary>
internal static class CoalesceRateLimiterBuilderExtensions
{
    /// <summary>Every execution takes a permit from <paramref name="limiter"/>.</summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="limiter">The limiter; owned by the caller (not disposed with the pipeline).</param>
    /// <param name="name">The name for logs and metrics.</param>
    /// <param name="logger">Receives waiting and rejection events; none by default.</param>
    /// <param name="metrics">Counts calls that wait or are refused; none by default.</param>
    /// <param name="component">The <c>coalesce.component</c> metric tag, e.g. <c>http_client</c>.</param>
    public static TBuilder AddCoalesceRateLimiter<TBuilder>(
        this TBuilder builder, RateLimiter limiter, string name, ILogger? logger = null, ResilienceMetrics? metrics = null, string component = ResilienceMetrics.Resilient)
        where TBuilder : ResiliencePipelineBuilderBase
    {
        ArgumentNullException.ThrowIfNull(limiter);
        return builder.AddCoalesceRateLimiter(_ => limiter, name, logger, metrics, component);
    }

    /// <summary>
    /// Every execution takes a permit from the limiter <paramref name="limiterSelector"/> picks for its
    /// context (e.g. from a <see cref="ResiliencePropertyKey{TValue}"/> holding the partition key).
    /// </summary>
    /// <param name="builder">The pipeline builder.</param>
    /// <param name="limiterSelector">Picks the limiter for one execution.</param>
    /// <param name="name">The name for logs and metrics.</param>
    /// <param name="logger">Receives waiting and rejection events; none by default.</param>
    /// <param name="metrics">Counts calls that wait or are refused; none by default.</param>
    /// <param name="component">The <c>coalesce.component</c> metric tag.</param>
    public static TBuilder AddCoalesceRateLimiter<TBuilder>(
        this TBuilder builder, Func<ResilienceContext, RateLimiter> limiterSelector, string name, ILogger? logger = null,
        ResilienceMetrics? metrics = null, string component = ResilienceMetrics.Resilient)
        where TBuilder : ResiliencePipelineBuilderBase
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(limiterSelector);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(component);
        var log = logger ?? NullLogger.Instance;
        return builder.AddRateLimiter(new RateLimiterStrategyOptions
        {
            Name = "coalesce-rate-limit",
            RateLimiter = args => AcquireAsync(limiterSelector(args.Context), name, metrics, component, log, args.Context.CancellationToken),
            OnRejected = _ =>
            {
                ResilienceLog.RateLimitRejected(log, name);
                return default;
            },
        });
    }

    /// <summary>The rejection as Coalesce reports it: named after the limited function or client, with the same hint.</summary>
    public static RateLimitRejectedException ToCoalesce(this RateLimiterRejectedException rejected, string name) =>
        new(name, rejected.RetryAfter, rejected);

    // Tries for a permit without waiting first, so a call that has to queue is logged and counted.
    private static ValueTask<RateLimitLease> AcquireAsync(
        RateLimiter limiter, string name, ResilienceMetrics? metrics, string component, ILogger logger, CancellationToken cancellationToken)
    {
        var lease = limiter.AttemptAcquire(1);
        if (lease.IsAcquired)
        {
            return new(lease);
        }

        lease.Dispose();
        metrics?.Limited(component, name);
        ResilienceLog.RateLimitWaiting(logger, name);
        return limiter.AcquireAsync(1, cancellationToken);
    }
}
