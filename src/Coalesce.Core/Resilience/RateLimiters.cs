using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Coalesce.Resilience;

/// <summary>
/// Finds the limiter for a call under each <see cref="RateLimitScope"/>: one per wrapper, one per global name
/// (held by the <see cref="RateLimitRegistry"/> the options name, so nothing here is process-wide), or one per
/// argument key.
/// </summary>
internal sealed class RateLimiters
{
    // Per-argument limiters beyond this count trigger a sweep of the idle ones, so memory stays bounded
    // by the number of arguments active within about one window.
    private const int SweepThreshold = 1024;

    private readonly double _rate;
    private readonly int _queueLimit;
    private readonly TimeProvider _time;
    private readonly RateLimiter? _single;
    private readonly ConcurrentDictionary<string, WindowRateLimiter>? _perArgument;

    private RateLimiters(double rate, int queueLimit, TimeProvider time, RateLimiter? single, bool perArgument)
    {
        _rate = rate;
        _queueLimit = queueLimit;
        _time = time;
        _single = single;
        _perArgument = perArgument ? new(StringComparer.Ordinal) : null;
    }

    public bool IsPerArgument => _perArgument is not null;

    /// <summary>The limiters for validated <paramref name="options"/> with a rate limit set.</summary>
    public static RateLimiters Create(ResilienceOptions options)
    {
        var rate = options.RateLimit ?? throw new ArgumentException("No rate limit is set.", nameof(options));
        return options.RateLimitScope switch
        {
            RateLimitScope.PerFunction => new(rate, options.RateLimitQueueLimit, options.TimeProvider,
                new WindowRateLimiter(rate, options.RateLimitQueueLimit, options.TimeProvider), perArgument: false),
            RateLimitScope.Global => new(rate, options.RateLimitQueueLimit, options.TimeProvider,
                options.RateLimitRegistry!.Get(options.RateLimitName!, rate, options.RateLimitQueueLimit), perArgument: false),
            RateLimitScope.PerArgument => new(rate, options.RateLimitQueueLimit, options.TimeProvider, null, perArgument: true),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.RateLimitScope, "Unknown RateLimitScope."),
        };
    }

    /// <summary>The limiter for a call whose argument key is <paramref name="argumentKey"/>.</summary>
    public RateLimiter For(string? argumentKey)
    {
        if (_single is not null)
        {
            return _single;
        }

        var key = argumentKey ?? throw new InvalidOperationException("A per-argument rate limit needs the call's argument key.");
        if (_perArgument!.TryGetValue(key, out var existing))
        {
            return existing;
        }

        var limiter = _perArgument.GetOrAdd(key, _ => new WindowRateLimiter(_rate, _queueLimit, _time));
        if (_perArgument.Count > SweepThreshold)
        {
            Sweep();
        }

        return limiter;
    }

    /// <summary>How many per-argument limiters are held (for tests).</summary>
    internal int PerArgumentCount => _perArgument?.Count ?? 0;

    private void Sweep()
    {
        // A limiter removed while a caller still holds it keeps working on its own (it arms its own timer
        // while callers queue); the worst case is one extra window's worth of calls for that argument.
        foreach (var (key, limiter) in _perArgument!)
        {
            if (limiter.IdleDuration >= limiter.Window)
            {
                _perArgument.TryRemove(new KeyValuePair<string, WindowRateLimiter>(key, limiter));
            }
        }
    }
}
