namespace Coalesce;

/// <summary>Settings for <see cref="BatchingMapProxy{TIn, TOut}"/> and <see cref="AsyncBatchingMapProxy{TIn, TOut}"/>.</summary>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class BatchingMapProxyOptions
{
    /// <summary>The most items per call of the map function; <see langword="null"/> or ≤ 0 (the default) for one call with every item.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int? BatchSize { get; set; }

    /// <summary>
    /// The most concurrent calls of the map function across all overlapping <c>MapAsync</c> calls of one proxy.
    /// Default 8; must be at least 1. The synchronous proxy runs batches on its callers' threads and ignores it.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>The most results kept; past it the least recently used goes. <see langword="null"/> (the default) for no bound. Must be at least 1.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int? MaxEntries { get; set; }

    /// <summary>How long a result is kept; <see langword="null"/> (the default) for ever. Must be positive.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? Ttl { get; set; }

    /// <summary>The clock for <see cref="Ttl"/>. Default <see cref="TimeProvider.System"/>.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (MaxConcurrency < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxConcurrency), MaxConcurrency, $"{nameof(MaxConcurrency)} must be at least 1 (it bounds concurrent calls of the map function).");
        }

        if (MaxEntries is < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxEntries), MaxEntries, $"{nameof(BatchingMapProxyOptions)}.{nameof(MaxEntries)} must be at least 1, or null for no bound.");
        }

        if (Ttl is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(Ttl), ttl, $"{nameof(BatchingMapProxyOptions)}.{nameof(Ttl)} must be positive, or null to keep results for ever.");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentNullException(nameof(TimeProvider), $"{nameof(BatchingMapProxyOptions)}.{nameof(TimeProvider)} must not be null.");
        }
    }
}
