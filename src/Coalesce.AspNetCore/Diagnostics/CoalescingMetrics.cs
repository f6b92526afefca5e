using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>
/// Publishes the registry's figures on the <c>Coalesce</c> meter as observable instruments, read only when a
/// listener collects, so counting costs the request path nothing extra. Tags: <c>coalesce.layer</c>
/// (<c>requests</c>, <c>endpoint</c>, <c>httpclient</c>) and <c>coalesce.name</c>. The memo cache publishes its
/// own figures under the layer <c>cache</c>.
/// </summary>
internal sealed class CoalescingMetrics : IDisposable
{
    private readonly Meter _meter;

    public CoalescingMetrics(IMeterFactory meterFactory, CoalescingStatsRegistry registry)
    {
        _meter = meterFactory.Create(CoalesceMeter.Name);
        _meter.CreateObservableCounter("coalesce.hits", () => Observe(registry, static c => c.Hits), "{request}",
            "Callers served without running the work themselves (coalesced or memoized).");
        _meter.CreateObservableCounter("coalesce.misses", () => Observe(registry, static c => c.Misses), "{execution}",
            "Real executions of the work.");
        _meter.CreateObservableCounter("coalesce.errors", () => Observe(registry, static c => c.Errors), "{execution}",
            "Executions that failed, counted once per execution.");
        _meter.CreateObservableUpDownCounter("coalesce.active", () => Observe(registry, static c => c.Active), "{execution}",
            "Executions in flight now.");
    }

    public void Dispose() => _meter.Dispose();

    private static IEnumerable<Measurement<long>> Observe(CoalescingStatsRegistry registry, Func<SharedCallCounters, long> read)
    {
        yield return new Measurement<long>(read(registry.Requests), CoalesceMeter.Tags("requests", "all"));
        foreach (var (name, counters) in registry.EndpointCounters)
        {
            yield return new Measurement<long>(read(counters), CoalesceMeter.Tags("endpoint", name));
        }

        foreach (var (name, counters) in registry.HttpClientCounters)
        {
            yield return new Measurement<long>(read(counters.Flights), CoalesceMeter.Tags("httpclient", name));
        }
    }
}
