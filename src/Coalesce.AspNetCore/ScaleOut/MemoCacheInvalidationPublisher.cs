using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// Publishes invalidations made directly on the app's <see cref="MemoCache"/> to every instance: by tag
/// (<c>InvalidateByTagAsync</c>, <c>InvalidateByTagsAsync</c>), by key (<c>InvalidateAsync</c>, <c>DeleteAsync</c>,
/// <c>DeleteManyAsync</c>), by pattern (<c>InvalidateByPatternAsync</c>) and clears (<c>ClearAsync</c>). Registered
/// with a scale-out package.
/// </summary>
/// <remarks>
/// The publication is asynchronous: the call returns once this instance evicted, and other instances evict when the
/// message reaches them (eventual, no read-your-writes for that caller; queued while the shared store is down). A
/// malformed pattern throws from <c>InvalidateByPatternAsync</c> before the cache raises its hook, so nothing is
/// published. <c>InvalidatesTags</c> publishes itself and waits; evictions applied from other instances' messages and
/// the middleware's own housekeeping deletes must not be published: they evict inside <see cref="LocalOnly"/>. A key
/// invalidation is also published for the key's shared value (<see cref="ScaleOutMemoCacheLevel.KeyPrefix"/>), whose
/// second-level entry is stamped under that key; patterns and clears stamp every shared entry anyway.
/// </remarks>
internal sealed partial class MemoCacheInvalidationPublisher : IDisposable
{
    [ThreadStatic]
    private static int t_localOnly;

    private readonly MemoCache _cache;
    private readonly IDistributedInvalidation _distributed;
    private readonly ILogger _logger;
    private int _publishing;

    public MemoCacheInvalidationPublisher(MemoCache cache, IDistributedInvalidation distributed, ILogger<MemoCacheInvalidationPublisher> logger)
    {
        _cache = cache;
        _distributed = distributed;
        _logger = logger;
        cache.Invalidating += OnInvalidating;
    }

    /// <summary>
    /// Marks the invalidations this thread makes until disposed as local only. The cache raises its hook
    /// synchronously, so start the call inside the scope and await it after.
    /// </summary>
    public static LocalOnlyScope LocalOnly()
    {
        t_localOnly++;
        return default;
    }

    /// <summary>
    /// Runs one cache call as local only: started inside <see cref="LocalOnly"/> (the cache raises its hook
    /// synchronously, before the call returns) and awaited outside it.
    /// </summary>
    public static async ValueTask<T> LocalOnlyAsync<T>(Func<ValueTask<T>> call)
    {
        ValueTask<T> started;
        using (LocalOnly())
        {
            started = call();
        }

        return await started.ConfigureAwait(false);
    }

    /// <summary>Whether a direct invalidation is still on its way to the shared store (its second level may still hold what it evicted).</summary>
    public bool IsPublishing => Volatile.Read(ref _publishing) > 0;

    public void Dispose() => _cache.Invalidating -= OnInvalidating;

    private void OnInvalidating(CacheInvalidation invalidation)
    {
        if (t_localOnly > 0)
        {
            return;
        }

        // Copied now: the hook's collections belong to the caller.
        var items = InvalidationItem.From(invalidation);
        if (invalidation.Key is { } key)
        {
            items = [.. items, InvalidationItem.Key(ScaleOutMemoCacheLevel.KeyPrefix + key)];
        }

        if (items.Length > 0)
        {
            Interlocked.Increment(ref _publishing);
            _ = Task.Run(() => PublishAsync(items));
        }
    }

    private async Task PublishAsync(InvalidationItem[] items)
    {
        try
        {
            await _distributed.PublishAsync(items, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Keys are never logged (they can carry user data): only the kinds and the tags.
            PublishFailed(_logger, ex, Describe(items));
        }
        finally
        {
            Interlocked.Decrement(ref _publishing);
        }
    }

    private static string Describe(InvalidationItem[] items) =>
        string.Join(", ", items.Select(static i => i.Kind switch
        {
            InvalidationKind.Tag => i.Value,
            InvalidationKind.Key => "(a key)",
            InvalidationKind.Pattern => "(a pattern)",
            _ => "(everything)",
        }));

    [LoggerMessage(2014, LogLevel.Error, "Publishing the direct invalidation of {Tags} to other instances failed; they may serve stale entries until they expire.")]
    private static partial void PublishFailed(ILogger logger, Exception exception, string tags);

    internal readonly struct LocalOnlyScope : IDisposable
    {
        public void Dispose() => t_localOnly--;
    }
}
