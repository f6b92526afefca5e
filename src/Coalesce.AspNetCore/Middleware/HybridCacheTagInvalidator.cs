using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// Carries a write's tag invalidation over to the app's <see cref="HybridCache"/>, when one is registered, so that
/// <c>InvalidatesTags(...)</c> evicts the objects an app keeps there as well as the responses Coalesce memoized. The
/// abstract <see cref="HybridCache"/> ships in Microsoft.Extensions.Caching.Abstractions (part of the shared
/// framework), so Coalesce does not depend on the Hybrid package. A failure here never fails the write's response: it
/// is logged and the response goes out.
/// </summary>
internal sealed partial class HybridCacheTagInvalidator
{
    private readonly HybridCache? _cache;
    private readonly ILogger _logger;

    public HybridCacheTagInvalidator(IServiceProvider services, ILogger<HybridCacheTagInvalidator> logger)
    {
        _cache = services.GetService<HybridCache>();
        _logger = logger;
    }

    /// <summary>Whether the app has a <see cref="HybridCache"/> to invalidate.</summary>
    public bool IsActive => _cache is not null;

    /// <summary>Removes <paramref name="tags"/> from the app's <see cref="HybridCache"/>; never throws.</summary>
    /// <param name="tags">The resolved tags the write invalidates.</param>
    /// <param name="endpoint">The write's endpoint, for the log.</param>
    public async ValueTask RemoveByTagsAsync(IReadOnlyCollection<string> tags, string endpoint)
    {
        if (_cache is null)
        {
            return;
        }

        try
        {
            // Whatever HybridCache (or an L2 behind it) throws, the write has succeeded and its response must go out.
            // Not the request's token: once the write has succeeded, its invalidation completes even if its client left.
            await _cache.RemoveByTagAsync(tags, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            RemoveFailed(_logger, ex, string.Join(", ", tags), endpoint);
        }
    }

    [LoggerMessage(2030, LogLevel.Error, "Removing the tags {Tags} from HybridCache after {Endpoint} succeeded failed; the response was still sent, and HybridCache entries with those tags may be stale until they expire.")]
    private static partial void RemoveFailed(ILogger logger, Exception exception, string tags, string endpoint);
}
