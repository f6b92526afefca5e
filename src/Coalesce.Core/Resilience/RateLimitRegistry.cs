using System.Collections.Concurrent;
using Coalesce.Resilience;

namespace Coalesce;

/// <summary>
/// Owns the named rate limits that wrappers with <see cref="RateLimitScope.Global"/> share: every wrapper whose
/// <see cref="ResilienceOptions.RateLimitRegistry"/> is this registry and whose <see cref="ResilienceOptions.RateLimitName"/>
/// is the same draws permits from one limit. Keep one per app (a DI singleton, say); its limits run on its own
/// <see cref="TimeProvider"/> and end when it is disposed. Thread-safe.
/// </summary>
public sealed class RateLimitRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, WindowRateLimiter> _limiters = new(StringComparer.Ordinal);

    /// <summary>Creates an empty registry.</summary>
    /// <param name="timeProvider">The clock of every limit in the registry. Default: <see cref="TimeProvider.System"/>.</param>
    public RateLimitRegistry(TimeProvider? timeProvider = null)
    {
        TimeProvider = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The clock of every limit in the registry.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>The names of the limits defined so far.</summary>
    public IReadOnlyCollection<string> Names => [.. _limiters.Keys];

    /// <summary>Disposes every limit: callers waiting for a permit are released without one (and rejected).</summary>
    public void Dispose()
    {
        foreach (var limiter in _limiters.Values)
        {
            limiter.Dispose();
        }

        _limiters.Clear();
    }

    /// <summary>The limit called <paramref name="name"/>, created on first use; every user must ask for the same rate.</summary>
    internal WindowRateLimiter Get(string name, double rate, int queueLimit)
    {
        var limiter = _limiters.GetOrAdd(name, static (_, state) => new WindowRateLimiter(state.rate, state.queueLimit, state.time), (rate, queueLimit, time: TimeProvider));
        if (limiter.CallsPerSecond != rate)
        {
            throw new ArgumentException(
                $"The global rate limit '{name}' is already defined with {limiter.CallsPerSecond} calls per second; every wrapper sharing it must use the same ResilienceOptions.RateLimit (got {rate}).",
                nameof(rate));
        }

        return limiter;
    }
}
