using System.Diagnostics.Metrics;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Publishes the Redis level's figures (<see cref="RedisCoalescingStats"/>) on the <c>Coalesce</c> meter as observable
/// instruments named <c>coalesce.scaleout.*</c>, read only when a listener collects.
/// </summary>
/// <remarks>
/// Shaped like the app's other instruments: counters with <c>{unit}</c> units; a figure split by outcome is one
/// instrument with <c>coalesce.result</c> (second-level lookups: <c>hit</c>, <c>miss</c>, as
/// <c>coalesce.cache.lookups</c>), never a total beside its parts; the states are gauges of 0 or 1. No attribute
/// repeats what the instrument's name says. <c>currentSeq</c> is left to the stats document (an identifier, not a
/// measurement).
/// </remarks>
internal sealed class RedisCoalescingMetrics : IDisposable
{
    internal const string MeterName = "Coalesce";
    private static readonly KeyValuePair<string, object?>[] Hit = [new("coalesce.result", "hit")];
    private static readonly KeyValuePair<string, object?>[] Miss = [new("coalesce.result", "miss")];
    private readonly Meter _meter;

    public RedisCoalescingMetrics(IMeterFactory meterFactory, RedisCoalescingStatsSource stats)
    {
        _meter = meterFactory.Create(MeterName);
        Gauge("coalesce.scaleout.connected", () => stats.GetSnapshot().Connected, "1 while the connection to Redis is up.");
        Gauge("coalesce.scaleout.breaker.open", () => stats.GetSnapshot().BreakerOpen, "1 while Redis is being left alone.");
        Gauge("coalesce.scaleout.synchronized", () => stats.GetSnapshot().Synchronized, "1 while this instance follows the other instances' invalidations.");
        _meter.CreateObservableCounter<long>(
            "coalesce.scaleout.l2.lookups",
            () =>
            {
                var snapshot = stats.GetSnapshot();
                return (Measurement<long>[])[new(snapshot.L2Hits, Hit), new(snapshot.L2Misses, Miss)];
            },
            "{lookup}",
            "Second-level reads: hit (an entry was returned) or miss (absent, stale, or no answer in time).");
        Counter("coalesce.scaleout.l2.writes", () => stats.GetSnapshot().L2Writes, "{entry}", "Entries stored in the second level.");
        Counter("coalesce.scaleout.l2.rejections", () => stats.GetSnapshot().L2Oversize, "{entry}", "Entries over the second level's size cap, kept local.");
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
        _meter.CreateObservableCounter(name, read, unit, description);

    private void Gauge(string name, Func<bool> read, string description) =>
        _meter.CreateObservableGauge(name, () => read() ? 1 : 0, "1", description);
}
