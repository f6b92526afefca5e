using Microsoft.Extensions.Options;

namespace WebApi.Upstream;

/// <summary>Decides which upstream calls fail, and counts them.</summary>
internal sealed class FlakyUpstream
{
    private readonly double _failureRate;
    private readonly double _fallbackFailureRate;
    private readonly string _fallbackHost;
    private readonly Random? _seeded;
    private readonly Lock _gate = new();
    private long _calls;
    private long _failures;

    public FlakyUpstream(IOptions<UpstreamOptions> options)
    {
        var value = options.Value;
        _failureRate = value.FailureRate;
        _fallbackFailureRate = value.FallbackFailureRate;
        _fallbackHost = value.FallbackAddress.Host;
        _seeded = value.Seed is { } seed ? new Random(seed) : null;
        Latency = TimeSpan.FromMilliseconds(value.LatencyMs);
    }

    public TimeSpan Latency { get; }

    public long Calls => Interlocked.Read(ref _calls);

    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Whether a call came in through the fallback origin.</summary>
    public bool IsFallback(HostString host) => string.Equals(host.Host, _fallbackHost, StringComparison.OrdinalIgnoreCase);

    /// <summary>Counts a call to the primary upstream and says whether it fails.</summary>
    public bool NextCallFails()
    {
        Interlocked.Increment(ref _calls);
        var fails = _failureRate > 0 && Draw() < _failureRate;
        if (fails)
        {
            Interlocked.Increment(ref _failures);
        }

        return fails;
    }

    /// <summary>Says whether a call through the fallback origin fails (not counted in <see cref="Calls"/>).</summary>
    public bool NextFallbackCallFails() => _fallbackFailureRate > 0 && Draw() < _fallbackFailureRate;

    // A seeded Random is not thread-safe, so its draws are serialised; Random.Shared is.
    private double Draw()
    {
        if (_seeded is null)
        {
            return Random.Shared.NextDouble();
        }

        lock (_gate)
        {
            return _seeded.NextDouble();
        }
    }
}
