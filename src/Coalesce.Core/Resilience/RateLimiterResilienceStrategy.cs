using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Polly;

namespace Coalesce.Resilience;

/// <summary>
/// A Polly strategy that takes one permit from a <see cref="RateLimiter"/> before running the rest of the
/// pipeline. A caller over the limit waits in the limiter's queue (its token ends the wait); when the queue
/// is full the outcome is a <see cref="RateLimitRejectedException"/> and the callback does not run.
/// </summary>
internal sealed class RateLimiterResilienceStrategy : ResilienceStrategy
{
    private readonly Func<ResilienceContext, RateLimiter> _limiterSelector;
    private readonly string _name;
    private readonly string _layer;
    private readonly ILogger _logger;

    public RateLimiterResilienceStrategy(Func<ResilienceContext, RateLimiter> limiterSelector, string name, string layer, ILogger logger)
    {
        _limiterSelector = limiterSelector;
        _name = name;
        _layer = layer;
        _logger = logger;
    }

    protected override async ValueTask<Outcome<TResult>> ExecuteCore<TResult, TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<TResult>>> callback, ResilienceContext context, TState state)
    {
        RateLimitLease lease;
        try
        {
            var limiter = _limiterSelector(context);
            lease = limiter.AttemptAcquire(1);
            if (!lease.IsAcquired)
            {
                lease.Dispose();
                ResilienceMetrics.Limited(_name, _layer);
                ResilienceLog.RateLimitWaiting(_logger, _name);
                lease = await limiter.AcquireAsync(1, context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
            }
        }
        catch (Exception ex)
        {
            return Outcome.FromException<TResult>(ex);
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                ResilienceLog.RateLimitRejected(_logger, _name);
                TimeSpan? retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : null;
                return Outcome.FromException<TResult>(new RateLimitRejectedException(_name, retryAfter));
            }

            return await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
        }
    }
}
