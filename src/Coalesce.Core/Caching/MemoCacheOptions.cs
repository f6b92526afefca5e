namespace Coalesce;

/// <summary>Settings for a <see cref="MemoCache"/>. Checked when the cache is created.</summary>
public sealed class MemoCacheOptions
{
    /// <summary>
    /// The cache's name in metrics (<c>coalesce.name</c>) and diagnostics. Default <c>"default"</c>.
    /// </summary>
    public string Name { get; set; } = "default";

    /// <summary>
    /// A prefix for every key in storage (<c>{Namespace}:{key}</c>), so caches that share a storage level do not
    /// see each other's entries. Keys passed to and returned by the cache never carry it. Default none.
    /// </summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// The most entries kept; past it the least recently used entry goes. <see langword="null"/> (the default)
    /// means no bound. Must be at least 1.
    /// </summary>
    public int? MaxEntries { get; set; }

    /// <summary>
    /// The time to live of entries set without one. <see langword="null"/> (the default) means they do not expire.
    /// Must be positive.
    /// </summary>
    public TimeSpan? DefaultTtl { get; set; }

    /// <summary>
    /// How often expired entries that nobody reads are swept out. Writes also sweep them, so this matters for caches
    /// that go quiet. <see langword="null"/> turns the timer off. Default one minute; must be positive.
    /// </summary>
    public TimeSpan? ExpirationScanInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The clock for time to live and the sweep timer. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Name))
        {
            throw new ArgumentException($"{nameof(MemoCacheOptions)}.{nameof(Name)} must be a non-empty name.", nameof(Name));
        }

        if (Namespace is { Length: 0 })
        {
            throw new ArgumentException($"{nameof(MemoCacheOptions)}.{nameof(Namespace)} must be null or non-empty.", nameof(Namespace));
        }

        if (MaxEntries is < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxEntries), MaxEntries, $"{nameof(MemoCacheOptions)}.{nameof(MaxEntries)} must be at least 1, or null for no bound.");
        }

        if (DefaultTtl is { } ttl && ttl <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(DefaultTtl), ttl, $"{nameof(MemoCacheOptions)}.{nameof(DefaultTtl)} must be positive, or null for entries that do not expire.");
        }

        if (ExpirationScanInterval is { } interval && interval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(ExpirationScanInterval), interval, $"{nameof(MemoCacheOptions)}.{nameof(ExpirationScanInterval)} must be positive, or null for no timer.");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentNullException(nameof(TimeProvider), $"{nameof(MemoCacheOptions)}.{nameof(TimeProvider)} must not be null.");
        }
    }
}
