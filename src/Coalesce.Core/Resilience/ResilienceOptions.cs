using Coalesce.Resilience;
using Microsoft.Extensions.Logging;

namespace Coalesce;

/// <summary>
/// How <see cref="Resilient"/> wraps a function: retry with exponential backoff and jitter, a per-attempt
/// timeout, a rate limit, memoization and single-flight. Every property states its default. The options
/// are read once, when a function is wrapped; changing them afterwards does not change that wrapper.
/// </summary>
/// <remarks>
/// Layers, outermost first: single-flight (<see cref="SingleFlight"/>) → memoization → rate limit →
/// retry → fallback values in order → per-attempt timeout → your function.
/// docs/configuration.md in the repository has every option with its default, range and configuration key.
/// </remarks>
public sealed class ResilienceOptions
{
    private List<Type> _retryOnTypes = [];

    /// <summary>
    /// The name used in logs, metrics (<c>coalesce.name</c>), cache and single-flight keys.
    /// Default: <see langword="null"/>, meaning the wrapped function's declaring type and method name.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public string? Name { get; set; }

    /// <summary>
    /// How many times a failed call is retried after the first attempt; <c>0</c> turns retry off.
    /// Default: <c>3</c> (so up to 4 attempts). Allowed: 0 or more.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int Retries { get; set; } = 3;

    /// <summary>
    /// The growth of the delay between retries: the delay before retry <c>n</c> (counting from 0) is
    /// <c>min(MaxDelay, MinDelay * BackoffFactor^n)</c>. Default: <c>1.5</c>. Allowed: 1 to 100.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public double BackoffFactor { get; set; } = 1.5;

    /// <summary>The delay before the first retry. Default: 100 ms. Allowed: 0 to 1 day.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest delay between retries. Default: 30 s. Allowed: <see cref="MinDelay"/> to 1 day.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether delays are randomized so that many failing callers do not retry in step. With jitter each
    /// delay is drawn uniformly from <c>[delay / 2, delay]</c>, so it never exceeds <see cref="MaxDelay"/>.
    /// Default: <see langword="true"/>.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public bool UseJitter { get; set; } = true;

    /// <summary>
    /// Decides which exceptions are retried (and move on to the next fallback value). Combined with
    /// <see cref="RetryOnException{TException}"/>: an exception is retried when it matches a registered type
    /// or this predicate. Default: <see langword="null"/>; with no types and no predicate every exception is
    /// retried. An <see cref="OperationCanceledException"/> caused by the caller's own token is never retried.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public Func<Exception, bool>? RetryOn { get; set; }

    /// <summary>The exception types registered with <see cref="RetryOnException{TException}"/>. Default: empty.</summary>
    public IReadOnlyList<Type> RetryOnTypes => _retryOnTypes;

    /// <summary>
    /// The longest a single invocation of the function (one attempt with one fallback value) may run; it then
    /// fails with Polly's <c>TimeoutRejectedException</c>, which is retried like any other failure. The
    /// function must honour its <see cref="CancellationToken"/>. Default: <see langword="null"/> (no timeout).
    /// Allowed: 10 ms to 1 day.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? AttemptTimeout { get; set; }

    /// <summary>
    /// The most calls per second; callers over the limit wait for a permit (in arrival order).
    /// Retries of a call do not take further permits. Default: <see langword="null"/> (no limit).
    /// Allowed: greater than 0, at most 1,000,000.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public double? RateLimit { get; set; }

    /// <summary>Which calls share one rate limit. Default: <see cref="Coalesce.RateLimitScope.PerFunction"/>.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public RateLimitScope RateLimitScope { get; set; } = RateLimitScope.PerFunction;

    /// <summary>
    /// The name of the shared limit when <see cref="RateLimitScope"/> is <see cref="Coalesce.RateLimitScope.Global"/>;
    /// every wrapper using it must ask for the same <see cref="RateLimit"/>. Default: <see langword="null"/>
    /// (required for the global scope).
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public string? RateLimitName { get; set; }

    /// <summary>
    /// The owner of the shared limits when <see cref="RateLimitScope"/> is <see cref="Coalesce.RateLimitScope.Global"/>:
    /// wrappers share a limit when they name the same registry and the same <see cref="RateLimitName"/>, and the
    /// limit runs on the registry's clock. Default: <see langword="null"/> (required for the global scope).
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public RateLimitRegistry? RateLimitRegistry { get; set; }

    /// <summary>
    /// How many callers may wait for a permit at once; further callers fail at once with
    /// <see cref="RateLimitRejectedException"/>. Default: <c>1000</c>. Allowed: 0 or more.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int RateLimitQueueLimit { get; set; } = 1000;

    /// <summary>
    /// How long memoized results live, when <see cref="Cache"/> is set. Default: <see langword="null"/>
    /// (the cache's own default TTL). Allowed: greater than 0.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? CacheTtl { get; set; }

    /// <summary>The prefix of memoization keys, so wrappers can share a cache. Default: <c>"coalesce"</c>. Must not be empty.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public string CacheNamespace { get; set; } = "coalesce";

    /// <summary>
    /// Coalesces concurrent calls with the same key (the wrapper's key function) into one execution on this
    /// <see cref="Coalesce.SharedCall"/>. Default: <see langword="null"/> (off).
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public SharedCall? SingleFlight { get; set; }

    /// <summary>
    /// The clock for backoff delays, timeouts and rate-limit windows. Default: <see cref="TimeProvider.System"/>.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Receives retry, fallback and rate-limit events. Default: <see langword="null"/> (no logging).</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// Where the wrapper's counters (<c>coalesce.resilience.*</c> on the <c>Coalesce</c> meter, tagged
    /// <c>coalesce.component</c> = <c>resilient</c> and <c>coalesce.name</c>) are created, usually the app's
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/>. Default <see langword="null"/>: the wrapper counts
    /// nothing (a wrapper has no lifetime that could own a meter of its own); its logs are unaffected.
    /// </summary>
    /// <remarks>See docs/metrics-and-stats.md in the repository.</remarks>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// Memoizes successful results in this cache under <c>{CacheNamespace}:{Name}|{argument key}</c> for
    /// <see cref="CacheTtl"/>; concurrent misses run once and failures are never kept. Default:
    /// <see langword="null"/> (memoization off).
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public MemoCache? Cache { get; set; }

    /// <summary>
    /// Source-generated JSON metadata of the wrapped function's result (a <c>JsonTypeInfo&lt;TResult&gt;</c> from a
    /// <c>JsonSerializerContext</c>): with it, memoized results are shared through <see cref="Cache"/>'s
    /// <see cref="MemoCacheOptions.SecondLevel"/> (other instances of the app, for the Redis level) as by
    /// <see cref="MemoCache.GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}, CacheEntryOptions?, CancellationToken)"/>.
    /// Give the wrapper a <see cref="Name"/> and a <see cref="CacheTtl"/>: the name is part of the shared key. Default
    /// <see langword="null"/>: results stay in memory. Wrapping throws when it describes another type than the result.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    public System.Text.Json.Serialization.Metadata.JsonTypeInfo? CacheTypeInfo { get; set; }

    /// <summary>
    /// Retries exceptions of type <typeparamref name="TException"/> (and derived types). Once a type or
    /// <see cref="RetryOn"/> is set, other exceptions are not retried.
    /// </summary>
    /// <typeparam name="TException">The exception type to retry.</typeparam>
    /// <returns>These options, for chaining.</returns>
    public ResilienceOptions RetryOnException<TException>()
        where TException : Exception
    {
        _retryOnTypes.Add(typeof(TException));
        return this;
    }

    /// <summary>
    /// Checks every option against its allowed range.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range; the message names it and the range.</exception>
    /// <exception cref="ArgumentException">An option is missing or inconsistent; the message names it.</exception>
    public void Validate()
    {
        if (Retries < 0)
        {
            throw OutOfRange(nameof(Retries), Retries, "must be 0 or more");
        }

        if (!(BackoffFactor >= 1 && BackoffFactor <= 100))
        {
            throw OutOfRange(nameof(BackoffFactor), BackoffFactor, "must be between 1 and 100");
        }

        if (MinDelay < TimeSpan.Zero || MinDelay > TimeSpan.FromDays(1))
        {
            throw OutOfRange(nameof(MinDelay), MinDelay, "must be between 0 and 1 day");
        }

        if (MaxDelay < MinDelay || MaxDelay > TimeSpan.FromDays(1))
        {
            throw OutOfRange(nameof(MaxDelay), MaxDelay, $"must be between MinDelay ({MinDelay}) and 1 day");
        }

        if (AttemptTimeout is { } timeout && (timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromDays(1)))
        {
            throw OutOfRange(nameof(AttemptTimeout), timeout, "must be null or between 10 ms and 1 day");
        }

        if (RateLimit is { } rate && !(rate > 0 && rate <= 1_000_000))
        {
            throw OutOfRange(nameof(RateLimit), rate, "must be null or greater than 0 and at most 1,000,000 calls per second");
        }

        if (!Enum.IsDefined(RateLimitScope))
        {
            throw OutOfRange(nameof(RateLimitScope), RateLimitScope, "must be PerFunction, Global or PerArgument");
        }

        if (RateLimit is not null && RateLimitScope == RateLimitScope.Global && string.IsNullOrWhiteSpace(RateLimitName))
        {
            throw new ArgumentException(
                "ResilienceOptions.RateLimitName is required when RateLimitScope is Global: it names the limit that wrappers share.",
                nameof(RateLimitName));
        }

        if (RateLimit is not null && RateLimitScope == RateLimitScope.Global && RateLimitRegistry is null)
        {
            throw new ArgumentException(
                "ResilienceOptions.RateLimitRegistry is required when RateLimitScope is Global: it owns the limits that wrappers share (keep one per app).",
                nameof(RateLimitRegistry));
        }

        if (RateLimitQueueLimit < 0)
        {
            throw OutOfRange(nameof(RateLimitQueueLimit), RateLimitQueueLimit, "must be 0 or more");
        }

        if (CacheTtl is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw OutOfRange(nameof(CacheTtl), ttl, "must be null or greater than 0");
        }

        if (string.IsNullOrEmpty(CacheNamespace))
        {
            throw new ArgumentException("ResilienceOptions.CacheNamespace must not be null or empty.", nameof(CacheNamespace));
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("ResilienceOptions.TimeProvider must not be null.", nameof(TimeProvider));
        }

        if (Name is { Length: 0 })
        {
            throw new ArgumentException("ResilienceOptions.Name must be null (derived from the function) or non-empty.", nameof(Name));
        }
    }

    /// <summary>Whether <paramref name="exception"/> may be retried under <see cref="RetryOn"/> and <see cref="RetryOnTypes"/>.</summary>
    internal bool ShouldRetry(Exception exception)
    {
        if (_retryOnTypes.Count == 0 && RetryOn is null)
        {
            return true;
        }

        foreach (var type in _retryOnTypes)
        {
            if (type.IsInstanceOfType(exception))
            {
                return true;
            }
        }

        return RetryOn?.Invoke(exception) ?? false;
    }

    /// <summary>Copies the options so that a wrapper is immune to later changes.</summary>
    internal ResilienceOptions Clone()
    {
        var copy = (ResilienceOptions)MemberwiseClone();
        copy._retryOnTypes = [.. _retryOnTypes];
        return copy;
    }

    private static ArgumentOutOfRangeException OutOfRange(string option, object value, string range) =>
        new(option, value, $"ResilienceOptions.{option} {range}.");
}
