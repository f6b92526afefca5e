using System.Diagnostics.Metrics;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.StackExchangeRedis.Tests;

public sealed class RedisCoalescingMetricsTests
{
    [RedisFact]
    public async Task The_Coalesce_meter_publishes_the_same_figures_as_the_snapshot()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        await a.Store.TrySetAsync("k", new byte[] { 1 }, TimeSpan.FromSeconds(5), [], 0, CancellationToken.None);
        await a.Store.TryGetAsync("k", [], CancellationToken.None);
        await a.Store.TryGetAsync("missing", [], CancellationToken.None);
        await a.Invalidation.PublishInvalidationAsync(["t"], CancellationToken.None);
        var flights = a.Services.GetRequiredService<RedisSingleFlight>();
        var led = await flights.LeadOrWaitAsync("flight", [], memoized: false, TimeSpan.FromSeconds(1), CancellationToken.None);
        await led.Lease!.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Pass, Duration: TimeSpan.FromSeconds(1)));

        var measured = new Dictionary<string, long>();
        var factory = a.Services.GetRequiredService<IMeterFactory>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Coalesce" && instrument.Meter.Scope == factory && instrument.Name.StartsWith("coalesce.scaleout.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            // One series per figure: the name, plus the result where an instrument has one; no constant attributes.
            var result = tags.ToArray().Where(t => t.Key == "coalesce.result").Select(t => "." + t.Value).SingleOrDefault();
            Assert.Equal(result is null ? 0 : 1, tags.Length);
            measured[instrument.Name + result] = value;
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => measured[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();

        var stats = a.Stats;
        Assert.Equal(1, stats.L2Hits);
        Assert.Equal(1, stats.L2Misses);
        Assert.Equal(1, stats.InvalidationsPublished);
        Assert.True(stats.Connected);
        Assert.False(stats.BreakerOpen);
        Assert.Equal(1, measured["coalesce.scaleout.l2.lookups.hit"]);
        Assert.Equal(1, measured["coalesce.scaleout.l2.lookups.miss"]);
        Assert.Equal(0, measured["coalesce.scaleout.l2.rejections"]);
        Assert.Equal(1, measured["coalesce.scaleout.l2.writes"]);
        Assert.Equal(1, measured["coalesce.scaleout.invalidations.published"]);
        Assert.Equal(0, measured["coalesce.scaleout.invalidations.received"]);
        Assert.Equal(0, measured["coalesce.scaleout.remote_waits"]);
        Assert.Equal(1, measured["coalesce.scaleout.leases.won"]);
        Assert.Equal(0, measured["coalesce.scaleout.leases.takeovers"]);
        Assert.Equal(0, measured["coalesce.scaleout.fills.published"]);
        Assert.Equal(0, measured["coalesce.scaleout.fills.received"]);
        Assert.Equal(1, measured["coalesce.scaleout.passes"]);
        Assert.Equal((1, 1), (stats.LeasesWon, stats.Passes));
        Assert.Equal(1, measured["coalesce.scaleout.connected"]);
        Assert.Equal(0, measured["coalesce.scaleout.breaker.open"]);
        Assert.Equal(1, measured["coalesce.scaleout.synchronized"]);
        Assert.DoesNotContain(measured.Keys, k => k is "coalesce.scaleout.l2.hits" or "coalesce.scaleout.l2.misses" or "coalesce.scaleout.l2.oversize");
        Assert.Equal(1, b.Stats.InvalidationsReceived);
    }
}
