using System.Collections.Concurrent;
using Coalesce.Resilience;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Coalesce.Tests.Resilience;

/// <summary>Records calls of the function under test and lets a test wait for the n-th one.</summary>
internal sealed class CallRecorder<T>
{
    private readonly ConcurrentQueue<T> _calls = new();

    public IReadOnlyList<T> Calls => [.. _calls];

    public int Count => _calls.Count;

    public void Record(T value)
    {
        _calls.Enqueue(value);
    }

    /// <summary>Waits until <paramref name="count"/> calls have happened in total.</summary>
    public async Task WaitForAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (_calls.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Expected {count} calls, saw {_calls.Count}.");
            }

            await Task.Delay(1);
        }
    }
}

/// <summary>
/// Totals of the <c>coalesce.resilience.*</c> counters a wrapper named <c>name</c> publishes on <see cref="Factory"/>
/// (set it as the options' <see cref="ResilienceOptions.MeterFactory"/>).
/// </summary>
internal sealed class ResilienceCounters : IDisposable
{
    private static readonly string[] Instruments =
        ["coalesce.resilience.retries", "coalesce.resilience.fallbacks", "coalesce.resilience.rate_limited", "coalesce.resilience.failures"];

    private readonly string _name;
    private readonly Dictionary<string, MetricCollector<long>> _collectors;

    public ResilienceCounters(string name)
    {
        _name = name;
        _collectors = Instruments.ToDictionary(i => i, i => new MetricCollector<long>(Factory, "Coalesce", i));
    }

    public TestMeterFactory Factory { get; } = new();

    public long this[string instrument] => _collectors[instrument].GetMeasurementSnapshot()
        .Where(m => m.MatchesTags(new KeyValuePair<string, object?>("coalesce.name", _name), new KeyValuePair<string, object?>("coalesce.component", "resilient")))
        .Sum(m => m.Value);

    public void Dispose()
    {
        foreach (var collector in _collectors.Values)
        {
            collector.Dispose();
        }

        Factory.Dispose();
    }
}

internal sealed class TransientException(string message) : Exception(message);
