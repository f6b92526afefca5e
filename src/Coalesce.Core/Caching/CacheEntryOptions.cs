namespace Coalesce;

/// <summary>
/// How a <see cref="MemoCache"/> keeps and serves one entry: its time to live and tags, and the grace it has once its
/// time to live has run out (RFC 5861's <c>stale-while-revalidate</c> and <c>stale-if-error</c>, FusionCache's
/// fail-safe and soft timeout). For <see cref="MemoCache.GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, CacheEntryOptions, CancellationToken)"/>
/// and <see cref="MemoCache.SetAsync{T}(string, T, CacheEntryOptions, CancellationToken)"/>.
/// </summary>
/// <remarks>
/// An entry stays in the cache (and counts against its bounds) for its time to live plus the longer of its two
/// windows. Past its time to live it is never returned by <see cref="MemoCache.TryGet{T}"/>,
/// <see cref="MemoCache.GetAsync{T}"/>, <see cref="MemoCache.Keys"/> or <see cref="MemoCache.Entries"/>: only
/// <see cref="MemoCache.GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, CacheEntryOptions, CancellationToken)"/>
/// and memoized functions serve it stale, as the windows allow. An entry removed by a delete, an invalidation or a
/// clear is never served stale.
/// docs/configuration.md in the repository has every option with its default, range and configuration key.
/// </remarks>
public sealed class CacheEntryOptions
{
    /// <summary>The time to live; <see langword="null"/> (the default) for <see cref="MemoCacheOptions.DefaultTtl"/>. Must be positive.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? Ttl { get; set; }

    /// <summary>Tags, for <see cref="MemoCache.InvalidateByTagAsync"/>. Default: none.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public IReadOnlyList<string>? Tags { get; set; }

    /// <summary>
    /// How long past its time to live the entry is still served while one background refresh fetches a new value
    /// (<c>stale-while-revalidate</c>). Default <see langword="null"/>: none. Zero or positive. Needs a time to live.
    /// </summary>
    /// <remarks>See docs/stale-windows.md in the repository.</remarks>
    public TimeSpan? StaleWhileRevalidate { get; set; }

    /// <summary>
    /// How long past its time to live the entry is served instead of an exception from the fetch that should replace
    /// it (<c>stale-if-error</c>, a fail-safe). Default <see langword="null"/>: none. Zero or positive. Needs a time to live.
    /// </summary>
    /// <remarks>See docs/stale-windows.md in the repository.</remarks>
    public TimeSpan? StaleIfError { get; set; }

    /// <summary>
    /// When a stale entry may be served on error and the fetch replacing it takes longer than this, callers get the
    /// stale value at once, and the fetch completes in the background and stores its result. Default
    /// <see langword="null"/>: callers wait for the fetch. Positive. Ignored by <c>SetAsync</c>.
    /// </summary>
    /// <remarks>See docs/stale-windows.md in the repository.</remarks>
    public TimeSpan? SoftTimeout { get; set; }
}
