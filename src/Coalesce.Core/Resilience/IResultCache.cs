namespace Coalesce.Resilience;

/// <summary>
/// The memoization seam of <see cref="Resilient"/>. <c>MemoCache.GetOrFetchAsync</c> is the intended
/// implementation; this stays internal so the cache can change without touching the resilience API.
/// </summary>
internal interface IResultCache
{
    /// <summary>
    /// Returns the value stored under <paramref name="key"/>, or runs <paramref name="fetch"/>, stores its
    /// successful result for <paramref name="ttl"/> (null: the cache's default) and returns it. Failures are not stored.
    /// </summary>
    ValueTask<T> GetOrFetchAsync<T>(string key, Func<CancellationToken, Task<T>> fetch, TimeSpan? ttl, CancellationToken cancellationToken);
}
