namespace Coalesce.AspNetCore;

/// <summary>Live counters of one named HttpClient: its flights plus retries and fallbacks.</summary>
internal sealed class HttpClientCounters
{
    private long _retries;
    private long _fallbacks;

    public SharedCallCounters Flights { get; } = new();

    public long Retries => Volatile.Read(ref _retries);

    public long Fallbacks => Volatile.Read(ref _fallbacks);

    public void Retried() => Interlocked.Increment(ref _retries);

    public void FellBack() => Interlocked.Increment(ref _fallbacks);

    public HttpClientCounts Snapshot(string name) =>
        new(name, Flights.Hits, Flights.Misses, Flights.Errors, Flights.Active, Retries, Fallbacks);
}
