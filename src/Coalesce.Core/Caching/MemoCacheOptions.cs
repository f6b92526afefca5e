namespace Coalesce;

/// <summary>Settings for a <see cref="MemoCache"/>. Checked when the cache is created.</summary>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class MemoCacheOptions
{
    /// <summary>
    /// The cache's name in metrics (<c>coalesce.name</c>) and diagnostics. Default <c>"default"</c>.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public string Name { get; set; } = "default";

    /// <summary>
    /// A prefix for every key in storage (<c>{Namespace}:{key}</c>), so caches that share a storage level do not
    /// see each other's entries. Keys passed to and returned by the cache never carry it. Default none.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public string? Namespace { get; set; }

    /// <summary>
    /// The most entries kept; past it the least recently used entry goes. <see langword="null"/> (the default)
    /// means no bound. Must be at least 1.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int? MaxEntries { get; set; }

    /// <summary>
    /// The most memory, in bytes, the entries may hold; past it the least recently used entries go until the new one
    /// fits (counted in <see cref="CacheStats.Evictions"/>, raising <see cref="MemoCache.Evicted"/> with
    /// <see cref="CacheEvictionReason.Capacity"/>). An entry counts its value (see <see cref="ICacheSizeAware"/>), its key,
    /// its tags and about 190 bytes of the cache's own bookkeeping; a value whose size cannot be known counts only the
    /// rest. <see langword="null"/> (the default) means no bound. Must be at least 1.
    /// </summary>
    /// <remarks>
    /// Anyone who can choose keys (query strings, say) can fill a cache; bound caches that hold large values. See
    /// docs/engines.md in the repository.
    /// </remarks>
    public long? MaxBytes { get; set; }

    /// <summary>
    /// The largest entry kept, in bytes, counted as for <see cref="MaxBytes"/>. A larger value is not stored: the write
    /// returns quietly (a <see cref="MemoCache.GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, TimeSpan?, IEnumerable{string}?, CancellationToken)"/> caller still gets the fetched value), any older
    /// value under its key is removed since it has been superseded, <see cref="CacheStats.Rejections"/> counts it and
    /// <see cref="MemoCache.Rejected"/> is raised. <see langword="null"/> (the default) means <see cref="MaxBytes"/>
    /// alone limits an entry. Must be at least 1, and at most <see cref="MaxBytes"/> when that is set.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public long? MaxEntryBytes { get; set; }

    /// <summary>
    /// The time to live of entries set without one. <see langword="null"/> (the default) means they do not expire.
    /// Must be positive.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? DefaultTtl { get; set; }

    /// <summary>
    /// How often expired entries that nobody reads are swept out. Writes also sweep them, so this matters for caches
    /// that go quiet. <see langword="null"/> turns the timer off. Default one minute; must be positive.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? ExpirationScanInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The clock for time to live and the sweep timer. Default <see cref="TimeProvider.System"/>.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// Where the cache's instruments (<c>coalesce.cache.*</c> on the <c>Coalesce</c> meter) are created: the app's
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/>, so they reach the app's listeners and tests can isolate
    /// them. Default <see langword="null"/>: the cache creates its own <c>Coalesce</c> meter, disposed with the cache.
    /// The cache built by <c>AddRequestCoalescing</c> gets the app's factory.
    /// </summary>
    /// <remarks>See docs/metrics-and-stats.md in the repository.</remarks>
    public System.Diagnostics.Metrics.IMeterFactory? MeterFactory { get; set; }

    /// <summary>
    /// A level below memory for values that callers let serialize (the calls that take a
    /// <see cref="System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}"/>, <see cref="MemoizeOptions{TArg}.ResultTypeInfo"/>):
    /// on a local miss the fetch asks it first, and stores what it fetched there too. Default <see langword="null"/>:
    /// memory only. The cache built by <c>AddRequestCoalescing</c> gets the Redis level when
    /// <c>AddStackExchangeRedisCoalescing</c> is registered.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    public IMemoCacheLevel? SecondLevel { get; set; }

    /// <summary>
    /// Where the cache logs its decisions about <see cref="SecondLevel"/> (a value not shared, a payload that did not
    /// read). Default <see langword="null"/>: not logged. The cache built by <c>AddRequestCoalescing</c> gets the app's.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }

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

        if (MaxBytes is < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxBytes), MaxBytes, $"{nameof(MemoCacheOptions)}.{nameof(MaxBytes)} must be at least 1 byte, or null for no bound.");
        }

        if (MaxEntryBytes is < 1 || (MaxEntryBytes > MaxBytes))
        {
            throw new ArgumentOutOfRangeException(
                nameof(MaxEntryBytes),
                MaxEntryBytes,
                $"{nameof(MemoCacheOptions)}.{nameof(MaxEntryBytes)} must be at least 1 byte and at most {nameof(MaxBytes)} ({MaxBytes?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no bound"}), or null for no per-entry limit.");
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
