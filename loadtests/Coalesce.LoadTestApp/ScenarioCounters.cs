using Coalesce.AspNetCore;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Coalesce.LoadTestApp;

/// <summary>
/// Handler executions per scenario variant (such as <c>zipf.coalesce</c>), the answers of variants that count them
/// (the outage scenario's), and the coalescing figures of the variant's endpoint, all as deltas since the last
/// <see cref="Reset"/> so each measured run reads its own.
/// </summary>
internal sealed class ScenarioCounters(CoalescingStatsRegistry stats)
{
    private readonly ConcurrentDictionary<string, Variant> _variants = new(StringComparer.Ordinal);

    /// <summary>Registers a variant served by <paramref name="endpointName"/> (method and route pattern).</summary>
    public Variant Add(string name, string endpointName) =>
        _variants.GetOrAdd(name, static (n, e) => new Variant(n, e), endpointName);

    public void Reset()
    {
        var endpoints = EndpointFigures();
        foreach (var variant in _variants.Values)
        {
            variant.Reset(endpoints.GetValueOrDefault(variant.EndpointName));
        }
    }

    public IReadOnlyList<VariantCounts> Read()
    {
        var endpoints = EndpointFigures();
        return [.. _variants.Values.OrderBy(v => v.Name, StringComparer.Ordinal).Select(v => v.Read(endpoints.GetValueOrDefault(v.EndpointName)))];
    }

    /// <summary>
    /// One line per variant, easy to read from a shell script: name, executions, hits, misses, then the 5xx answers,
    /// the answers and 5xx answers while the backend was down, stale-while-revalidate answers, stale-if-error
    /// answers, background refreshes, failed refreshes, and the executions that failed because the backend was down.
    /// </summary>
    public string ReadAsText()
    {
        var text = new StringBuilder();
        foreach (var c in Read())
        {
            text.Append(CultureInfo.InvariantCulture,
                $"{c.Variant} {c.Executions} {c.Hits} {c.Misses} {c.Failed} {c.AnsweredWhileDown} {c.FailedWhileDown} {c.StaleHits} {c.StaleOnError} {c.Refreshes} {c.RefreshFailures} {c.BackendFailures}\n");
        }

        return text.ToString();
    }

    private Dictionary<string, EndpointFigures> EndpointFigures() =>
        stats.GetSnapshot().Endpoints.ToDictionary(
            e => e.Name, e => new EndpointFigures(e.Hits, e.Misses, e.StaleHits, e.StaleOnError, e.Refreshes, e.RefreshFailures), StringComparer.Ordinal);

    internal sealed class Variant(string name, string endpointName)
    {
        private long _executions;
        private long _failed;
        private long _answeredWhileDown;
        private long _failedWhileDown;
        private long _backendFailures;
        private EndpointFigures _baseline;

        public string Name { get; } = name;

        public string EndpointName { get; } = endpointName;

        public void Executed() => Interlocked.Increment(ref _executions);

        /// <summary>An execution that failed because the outage scenario's backend was down.</summary>
        public void BackendFailed() => Interlocked.Increment(ref _backendFailures);

        /// <summary>One answer sent to a client, with its status, and whether the backend was down meanwhile.</summary>
        public void Answered(int status, bool whileDown)
        {
            var failed = status >= StatusCodes.Status500InternalServerError;
            if (failed)
            {
                Interlocked.Increment(ref _failed);
            }

            if (whileDown)
            {
                Interlocked.Increment(ref _answeredWhileDown);
                if (failed)
                {
                    Interlocked.Increment(ref _failedWhileDown);
                }
            }
        }

        public void Reset(EndpointFigures endpoint)
        {
            Interlocked.Exchange(ref _executions, 0);
            Interlocked.Exchange(ref _failed, 0);
            Interlocked.Exchange(ref _answeredWhileDown, 0);
            Interlocked.Exchange(ref _failedWhileDown, 0);
            Interlocked.Exchange(ref _backendFailures, 0);
            _baseline = endpoint;
        }

        public VariantCounts Read(EndpointFigures endpoint) =>
            new(Name, Interlocked.Read(ref _executions), endpoint.Hits - _baseline.Hits, endpoint.Misses - _baseline.Misses)
            {
                Failed = Interlocked.Read(ref _failed),
                AnsweredWhileDown = Interlocked.Read(ref _answeredWhileDown),
                FailedWhileDown = Interlocked.Read(ref _failedWhileDown),
                BackendFailures = Interlocked.Read(ref _backendFailures),
                StaleHits = endpoint.StaleHits - _baseline.StaleHits,
                StaleOnError = endpoint.StaleOnError - _baseline.StaleOnError,
                Refreshes = endpoint.Refreshes - _baseline.Refreshes,
                RefreshFailures = endpoint.RefreshFailures - _baseline.RefreshFailures,
            };
    }
}

/// <summary>The figures of one endpoint in <c>/_coalesce/stats</c> that a variant reads as deltas.</summary>
internal readonly record struct EndpointFigures(long Hits, long Misses, long StaleHits, long StaleOnError, long Refreshes, long RefreshFailures);

/// <summary>
/// What one variant did since the last reset. <see cref="Failed"/>, <see cref="AnsweredWhileDown"/> and
/// <see cref="FailedWhileDown"/> are counted only for variants that count their answers, <see cref="BackendFailures"/>
/// only by the outage scenario's handler.
/// </summary>
internal sealed record VariantCounts(string Variant, long Executions, long Hits, long Misses)
{
    public long Failed { get; init; }

    public long AnsweredWhileDown { get; init; }

    public long FailedWhileDown { get; init; }

    public long BackendFailures { get; init; }

    public long StaleHits { get; init; }

    public long StaleOnError { get; init; }

    public long Refreshes { get; init; }

    public long RefreshFailures { get; init; }
}
