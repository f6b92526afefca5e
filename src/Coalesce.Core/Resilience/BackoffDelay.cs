using Polly.Retry;

namespace Coalesce.Resilience;

/// <summary>
/// The retry delay: <c>min(MaxDelay, MinDelay * BackoffFactor^attempt)</c>, with optional "equal jitter"
/// that draws uniformly from <c>[delay / 2, delay]</c>. Plug <see cref="Generate{TResult}"/> into
/// <see cref="RetryStrategyOptions{TResult}.DelayGenerator"/> (with Polly's own jitter off).
/// </summary>
internal sealed class BackoffDelay
{
    private readonly Func<double> _random;

    public BackoffDelay(TimeSpan minDelay, TimeSpan maxDelay, double backoffFactor, bool useJitter, Func<double>? random = null)
    {
        MinDelay = minDelay;
        MaxDelay = maxDelay;
        BackoffFactor = backoffFactor;
        UseJitter = useJitter;
        _random = random ?? Random.Shared.NextDouble;
    }

    public TimeSpan MinDelay { get; }

    public TimeSpan MaxDelay { get; }

    public double BackoffFactor { get; }

    public bool UseJitter { get; }

    public static BackoffDelay From(ResilienceOptions options) =>
        new(options.MinDelay, options.MaxDelay, options.BackoffFactor, options.UseJitter);

    /// <summary>The delay before retry <paramref name="attempt"/> (0 for the first retry).</summary>
    public TimeSpan Compute(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);

        // In double ticks so a large exponent saturates at MaxDelay instead of overflowing.
        var ticks = Math.Min(MaxDelay.Ticks, MinDelay.Ticks * Math.Pow(BackoffFactor, attempt));
        if (UseJitter)
        {
            ticks *= 0.5 + (0.5 * _random());
        }

        return TimeSpan.FromTicks((long)ticks);
    }

    /// <summary>A <see cref="RetryStrategyOptions{TResult}.DelayGenerator"/>.</summary>
    public ValueTask<TimeSpan?> Generate<TResult>(RetryDelayGeneratorArguments<TResult> args) =>
        new(Compute(args.AttemptNumber));
}
