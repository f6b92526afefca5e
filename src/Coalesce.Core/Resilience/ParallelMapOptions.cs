using Microsoft.Extensions.Logging;

namespace Coalesce;

/// <summary>How <see cref="ParallelMap"/> runs a function over many items. Every property states its default.</summary>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class ParallelMapOptions
{
    /// <summary>How many items run at once. Default: <c>4</c>. Allowed: 1 to 10,000.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int Workers { get; set; } = 4;

    /// <summary>
    /// Whether results come back in input order (<see langword="true"/>, the default) or in the order items
    /// finished (<see langword="false"/>). Each result carries its input index either way.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public bool Ordered { get; set; } = true;

    /// <summary>
    /// The longest one item may take, retries included; it then fails with Polly's <c>TimeoutRejectedException</c>
    /// and the run goes on. An async function must honour its token; a synchronous function cannot be interrupted,
    /// so it is abandoned (it finishes in the background). Default: <see langword="null"/> (no timeout).
    /// Allowed: 10 ms to 1 day.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? ItemTimeout { get; set; }

    /// <summary>
    /// Per-item retry, attempt timeout, rate limit, memoization and single-flight, as in
    /// <see cref="Resilient.Wrap{TArg, T}(Func{TArg, CancellationToken, Task{T}}, ResilienceOptions?, Func{TArg, string}?, Func{AllAttemptsFailedException, T}?)"/>.
    /// Memoization and single-flight key items by their text, which needs an item type with an exact text form;
    /// for other types, wrap the function yourself with a key function. Default: <see langword="null"/> (each item runs once).
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public ResilienceOptions? Resilience { get; set; }

    /// <summary>Receives a <see cref="ParallelMapProgress"/> after each item. Default: <see langword="null"/>.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public IProgress<ParallelMapProgress>? Progress { get; set; }

    /// <summary>
    /// Whether the first failed item cancels the items still running and skips the rest (they are reported
    /// as failed with an <see cref="OperationCanceledException"/>). Default: <see langword="false"/>: one
    /// failure does not affect the other items.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public bool StopOnFirstFailure { get; set; }

    /// <summary>The clock for <see cref="ItemTimeout"/>. Default: <see cref="TimeProvider.System"/>.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Receives an event per failed item. Default: <see langword="null"/> (no logging).</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public ILogger? Logger { get; set; }

    /// <summary>Checks every option against its allowed range, including <see cref="Resilience"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range; the message names it and the range.</exception>
    /// <exception cref="ArgumentException">An option is missing.</exception>
    public void Validate()
    {
        if (Workers is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(Workers), Workers, "ParallelMapOptions.Workers must be between 1 and 10,000.");
        }

        if (ItemTimeout is { } timeout && (timeout < TimeSpan.FromMilliseconds(10) || timeout > TimeSpan.FromDays(1)))
        {
            throw new ArgumentOutOfRangeException(nameof(ItemTimeout), timeout, "ParallelMapOptions.ItemTimeout must be null or between 10 ms and 1 day.");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("ParallelMapOptions.TimeProvider must not be null.", nameof(TimeProvider));
        }

        Resilience?.Validate();
    }
}
