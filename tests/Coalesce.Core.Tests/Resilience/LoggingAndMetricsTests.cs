using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.Tests.Resilience;

public class LoggingAndMetricsTests
{
    [Fact]
    public async Task Retries_fallbacks_and_the_final_failure_are_logged_with_stable_event_ids_and_counted()
    {
        var logger = new FakeLogger();
        var name = $"logged-{Guid.NewGuid():N}";
        using var counters = new ResilienceCounters(name);
        var options = new ResilienceOptions
        {
            Name = name, Retries = 1, MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero, Logger = logger, MeterFactory = counters.Factory,
        };
        var fn = Resilient.WithFallback<string, int>((key, _) => throw new TransientException(key), ["a", "b"], options);

        await Assert.ThrowsAsync<AllAttemptsFailedException>(() => fn(CancellationToken.None));

        Assert.Equal([1302, 1301, 1302, 1305], logger.Collector.GetSnapshot().Select(e => e.Id.Id));
        Assert.Contains($"{name}: fallback value 1 of 2 failed", logger.Collector.GetSnapshot()[0].Message, StringComparison.Ordinal);
        Assert.Contains($"{name}: all 4 attempts failed", logger.Collector.LatestRecord.Message, StringComparison.Ordinal);
        Assert.Equal(1, counters["coalesce.resilience.retries"]);
        Assert.Equal(2, counters["coalesce.resilience.fallbacks"]);
        Assert.Equal(1, counters["coalesce.resilience.failures"]);
    }

    [Fact]
    public async Task A_wrapper_without_a_meter_factory_counts_nothing_on_any_meter()
    {
        var name = $"unmetered-{Guid.NewGuid():N}";
        var published = false;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Coalesce")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            published |= tags.ToArray().Contains(new KeyValuePair<string, object?>("coalesce.name", name)));
        listener.Start();
        var options = new ResilienceOptions { Name = name, Retries = 1, MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero };
        var fn = Resilient.Wrap<int>(_ => throw new TransientException("down"), options);

        await Assert.ThrowsAsync<AllAttemptsFailedException>(() => fn(CancellationToken.None));

        Assert.False(published);
    }
}
