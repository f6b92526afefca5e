using System.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>Live counters of one named HttpClient: its flights plus retries and fallbacks, and its meter attributes.</summary>
internal sealed class HttpClientCounters(string name, CoalescingMetrics? metrics)
{
    private long _retries;
    private long _fallbacks;

    public SharedCallCounters Flights { get; } = new();

    /// <summary>Where measurements go; <see langword="null"/> for a registry built without a meter factory.</summary>
    public CoalescingMetrics? Metrics => metrics;

    public long Retries => Volatile.Read(ref _retries);

    public long Fallbacks => Volatile.Read(ref _fallbacks);

    public void Retried() => Interlocked.Increment(ref _retries);

    public void FellBack() => Interlocked.Increment(ref _fallbacks);

    public void Reset()
    {
        Flights.Reset();
        Interlocked.Exchange(ref _retries, 0);
        Interlocked.Exchange(ref _fallbacks, 0);
    }

    public HttpClientCounts Snapshot() =>
        new(name, Flights.Hits, Flights.Misses, Flights.Errors, Flights.Active, Retries, Fallbacks);

    public TagList Tags(string method) => new()
    {
        { CoalescingMetrics.ClientNameTag, name },
        { CoalescingMetrics.MethodTag, method },
    };

    public TagList Tags(string method, string result)
    {
        var tags = Tags(method);
        tags.Add(Diagnostics.CoalesceMeter.ResultTag, result);
        return tags;
    }
}
