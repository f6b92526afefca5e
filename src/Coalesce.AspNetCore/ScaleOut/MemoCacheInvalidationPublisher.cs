using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// Publishes tag invalidations made directly on the app's <see cref="MemoCache"/> (<c>InvalidateByTagAsync</c>,
/// <c>InvalidateByTagsAsync</c>) to every instance. Registered with a scale-out package. Invalidations by key, pattern
/// or clear are published as the tags that the second level gives shared values
/// (<see cref="ScaleOutMemoCacheLevel.TagsToPublish"/>): they make shared values unreadable there, and other
/// instances' local entries are left to their lifetimes.
/// </summary>
/// <remarks>
/// The publication is asynchronous: the call returns once this instance evicted, and other instances evict when the
/// message reaches them (eventual, no read-your-writes for that caller; queued while the shared store is down).
/// <c>InvalidatesTags</c> publishes itself and waits, and evictions applied from other instances' messages must not be
/// published again: both evict inside <see cref="LocalOnly"/>.
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

    /// <summary>Whether a direct invalidation is still on its way to the shared store (its second level may still hold what it evicted).</summary>
    public bool IsPublishing => Volatile.Read(ref _publishing) > 0;

    public void Dispose() => _cache.Invalidating -= OnInvalidating;

    private void OnInvalidating(CacheInvalidation invalidation)
    {
        if (t_localOnly > 0 || ScaleOutMemoCacheLevel.TagsToPublish(invalidation) is not { } tags)
        {
            return;
        }

        string[] copy = [.. tags];
        Interlocked.Increment(ref _publishing);
        _ = Task.Run(() => PublishAsync(copy));
    }

    private async Task PublishAsync(string[] tags)
    {
        try
        {
            await _distributed.PublishInvalidationAsync(tags, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            PublishFailed(_logger, ex, string.Join(", ", tags));
        }
        finally
        {
            Interlocked.Decrement(ref _publishing);
        }
    }

    [LoggerMessage(2014, LogLevel.Error, "Publishing the direct invalidation of {Tags} to other instances failed; they may serve stale entries until they expire.")]
    private static partial void PublishFailed(ILogger logger, Exception exception, string tags);

    internal readonly struct LocalOnlyScope : IDisposable
    {
        public void Dispose() => t_localOnly--;
    }
}
