using Coalesce.AspNetCore;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Coalesce.LoadTestApp;

/// <summary>
/// Handler executions per scenario variant (such as <c>zipf.coalesce</c>), and the coalescing figures of the
/// variant's endpoint, both as deltas since the last <see cref="Reset"/> so each measured run reads its own.
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

    /// <summary>One line per variant: name, executions, hits, misses; easy to read from a shell script.</summary>
    public string ReadAsText()
    {
        var text = new StringBuilder();
        foreach (var counts in Read())
        {
            text.Append(CultureInfo.InvariantCulture, $"{counts.Variant} {counts.Executions} {counts.Hits} {counts.Misses}\n");
        }

        return text.ToString();
    }

    private Dictionary<string, (long Hits, long Misses)> EndpointFigures() =>
        stats.GetSnapshot().Endpoints.ToDictionary(e => e.Name, e => (e.Hits, e.Misses), StringComparer.Ordinal);

    internal sealed class Variant(string name, string endpointName)
    {
        private long _executions;
        private (long Hits, long Misses) _baseline;

        public string Name { get; } = name;

        public string EndpointName { get; } = endpointName;

        public void Executed() => Interlocked.Increment(ref _executions);

        public void Reset((long Hits, long Misses) endpoint)
        {
            Interlocked.Exchange(ref _executions, 0);
            _baseline = endpoint;
        }

        public VariantCounts Read((long Hits, long Misses) endpoint) =>
            new(Name, Interlocked.Read(ref _executions), endpoint.Hits - _baseline.Hits, endpoint.Misses - _baseline.Misses);
    }
}

/// <summary>What one variant did since the last reset.</summary>
internal sealed record VariantCounts(string Variant, long Executions, long Hits, long Misses);
