using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Every <see cref="ILocalEvictor"/> of the app, called in turn: one that fails is logged and the others still run,
/// so one broken evictor never keeps another's entries alive.
/// </summary>
internal sealed class LocalEvictors(IEnumerable<ILocalEvictor> evictors, ILogger logger)
{
    private readonly ILocalEvictor[] _evictors = [.. evictors];

    public async Task EvictAsync(InvalidationItem[] items, long seq, CancellationToken cancellationToken)
    {
        foreach (var evictor in _evictors)
        {
            try
            {
                await evictor.EvictAsync(items, seq, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                RedisLog.EvictorFailed(logger, ex, evictor.GetType().Name);
            }
        }
    }

    public async Task EvictAllAsync(CancellationToken cancellationToken)
    {
        foreach (var evictor in _evictors)
        {
            try
            {
                await evictor.EvictAllAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                RedisLog.EvictorFailed(logger, ex, evictor.GetType().Name);
            }
        }
    }
}
