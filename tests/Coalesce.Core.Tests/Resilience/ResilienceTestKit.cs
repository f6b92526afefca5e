using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Coalesce.Resilience;
using Microsoft.Extensions.Logging;

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

internal sealed class ListLogger : ILogger
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level, string Message)> _entries = new();

    public IReadOnlyList<(int EventId, LogLevel Level, string Message)> Entries => [.. _entries];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
}

/// <summary>Sums the Coalesce meter's resilience counters for one <c>coalesce.name</c>.</summary>
/// <summary>
/// Totals of the <c>coalesce.resilience.*</c> counters a wrapper named <c>name</c> publishes on <see cref="Factory"/>
/// (set it as the options' <see cref="ResilienceOptions.MeterFactory"/>).
/// </summary>
internal sealed class ResilienceCounters : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();

    public ResilienceCounters(string name)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == Factory && instrument.Meter.Name == "Coalesce" && instrument.Name.StartsWith("coalesce.resilience.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var all = tags.ToArray();
            if (all.Contains(new("coalesce.name", name)) && all.Contains(new("coalesce.component", "resilient")))
            {
                _totals.AddOrUpdate(instrument.Name, value, (_, total) => total + value);
            }
        });
        _listener.Start();
    }

    public TestMeterFactory Factory { get; } = new();

    public long this[string instrument] => _totals.TryGetValue(instrument, out var total) ? total : 0;

    public void Dispose()
    {
        _listener.Dispose();
        Factory.Dispose();
    }
}

internal sealed class TransientException(string message) : Exception(message);
