using Coalesce.AspNetCore;
using Microsoft.Extensions.Hosting;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Starts connecting when the app starts (without waiting: the app starts while Redis is unreachable) and leaves
/// cleanly when it stops, so writers stop waiting for this instance at once.
/// </summary>
internal sealed class RedisCoalescingHostedService(
    RedisInvalidationBus bus, RedisCoalescingMetrics metrics, MemoCacheInvalidationPublisher publisher, RedisSingleFlight flights) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        GC.KeepAlive(metrics); // Resolved here so the instruments exist from the start,
        GC.KeepAlive(publisher); // and direct MemoCache tag invalidations are published from the start,
        GC.KeepAlive(flights); // and the fill subscription is made as soon as Redis is there.
        bus.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await bus.DisposeAsync().ConfigureAwait(false);
}
