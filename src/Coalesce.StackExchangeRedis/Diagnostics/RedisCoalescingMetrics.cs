using System.Diagnostics.Metrics;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Publishes the Redis level's figures on the <c>Coalesce</c> meter as observable instruments named
/// <c>coalesce.scaleout.*</c>, read only when a listener collects. Tags: <c>coalesce.layer=scaleout</c>,
/// <c>coalesce.name=redis</c>.
/// </summary>
internal sealed class RedisCoalescingMetrics : IDisposable
{
    internal const string MeterName = "Coalesce";
    private static readonly KeyValuePair<string, object?>[] Tags = [new("coalesce.layer", "scaleout"), new("coalesce.name", "redis")];
    private readonly Meter _meter;

    public RedisCoalescingMetrics(IMeterFactory meterFactory, RedisCoalescingStatsSource stats)
    {
        _meter = meterFactory.Create(MeterName);
        Gauge("coalesce.scaleout.connected", () => stats.GetSnapshot().Connected ? 1 : 0, "1 while the connection to Redis is up.");
        Gauge("coalesce.scaleout.breaker.open", () => stats.GetSnapshot().BreakerOpen ? 1 : 0, "1 while Redis is being left alone.");
        Counter("coalesce.scaleout.l2.hits", () => stats.GetSnapshot().L2Hits, "{read}", "Second-level reads that returned an entry.");
        Counter("coalesce.scaleout.l2.misses", () => stats.GetSnapshot().L2Misses, "{read}", "Second-level reads that did not.");
        Counter("coalesce.scaleout.l2.writes", () => stats.GetSnapshot().L2Writes, "{entry}", "Entries stored in the second level.");
        Counter("coalesce.scaleout.l2.oversize", () => stats.GetSnapshot().L2Oversize, "{entry}", "Entries over the size cap, kept local.");
        Counter("coalesce.scaleout.remote_waits", () => stats.GetSnapshot().RemoteWaits, "{request}", "Requests that waited for another instance's execution.");
        Counter("coalesce.scaleout.leases.won", () => stats.GetSnapshot().LeasesWon, "{lease}", "Executions this instance ran for every instance.");
        Counter("coalesce.scaleout.leases.takeovers", () => stats.GetSnapshot().Takeovers, "{lease}", "Leases won while waiting: the other instance released its lease without a result, or it lapsed.");
        Counter("coalesce.scaleout.fills.published", () => stats.GetSnapshot().FillsPublished, "{execution}", "Executions whose result this instance shared with waiting instances.");
        Counter("coalesce.scaleout.fills.received", () => stats.GetSnapshot().FillsReceived, "{wait}", "Waits ended by a notice that another instance's result was ready.");
        Counter("coalesce.scaleout.passes", () => stats.GetSnapshot().Passes, "{execution}", "Executions whose response must not be shared, so waiting instances ran their own.");
        Counter("coalesce.scaleout.invalidations.published", () => stats.GetSnapshot().InvalidationsPublished, "{invalidation}", "Invalidations this instance published.");
        Counter("coalesce.scaleout.invalidations.received", () => stats.GetSnapshot().InvalidationsReceived, "{invalidation}", "Invalidations from other instances applied here.");
        Counter("coalesce.scaleout.invalidations.deferred", () => stats.GetSnapshot().InvalidationsDeferred, "{invalidation}", "Invalidations queued while Redis was unavailable.");
        Counter("coalesce.scaleout.ack_timeouts", () => stats.GetSnapshot().AckTimeouts, "{invalidation}", "Invalidations not confirmed by every live instance in time.");
        Counter("coalesce.scaleout.errors", () => stats.GetSnapshot().Errors, "{call}", "Redis calls that failed or ran out of their budget.");
        Counter("coalesce.scaleout.breaker.openings", () => stats.GetSnapshot().BreakerOpenings, "{opening}", "How often the breaker opened.");
    }

    public void Dispose() => _meter.Dispose();

    private void Counter(string name, Func<long> read, string unit, string description) =>
        _meter.CreateObservableCounter(name, () => new Measurement<long>(read(), Tags), unit, description);

    private void Gauge(string name, Func<int> read, string description) =>
        _meter.CreateObservableGauge(name, () => new Measurement<int>(read(), Tags), "1", description);
}
