using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// <c>InvalidatesTags</c>: a write that succeeds (2xx) evicts its tags from <c>OnStarting</c>, so before its response
/// is sent — from the app's <see cref="MemoCache"/> (which tells the flights in progress), from the app's
/// <c>HybridCache</c> if it has one, and on the other instances — so a client that sees the 2xx reads fresh data.
/// </summary>
internal sealed class WriteInvalidation(MemoCache cache, HybridCacheTagInvalidator hybridCache, ScaleOutSeams scaleOut, ILogger logger)
{
    /// <summary>Evicts <paramref name="state"/>'s tags when the response to <paramref name="context"/> turns out a 2xx.</summary>
    public void InvalidateOnSuccess(HttpContext context, EndpointState state)
    {
        context.Response.OnStarting(static s =>
        {
            var (self, ctx, endpoint) = ((WriteInvalidation, HttpContext, EndpointState))s;
            return self.InvalidateIfSucceededAsync(ctx, endpoint);
        }, (this, context, state));
    }

    private async Task InvalidateIfSucceededAsync(HttpContext context, EndpointState state)
    {
        if (context.Response.StatusCode is < 200 or > 299)
        {
            return;
        }

        var tags = new List<string>(state.InvalidatesTags.Length);
        foreach (var template in state.InvalidatesTags)
        {
            tags.Add(template.Resolve(context));
        }

        // Published below, and awaited there; not again by the cache's publisher.
        var removed = await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => cache.InvalidateByTagsAsync(tags)).ConfigureAwait(false);
        CoalescingLog.Invalidated(logger, removed, string.Join(", ", tags), state.Name);
        await hybridCache.RemoveByTagsAsync(tags, state.Name).ConfigureAwait(false);

        // Still before the 2xx leaves: with read-your-writes, it may leave only once every instance that still serves
        // has evicted the tags or stopped serving them. When that cannot be confirmed in time the client must not take
        // the write as done: 503 (the write did happen; its invalidation is queued). Without a scale-out package there
        // is nobody to tell, and the write is always confirmed.
        bool confirmed;
        try
        {
            confirmed = await scaleOut.Invalidation.ConfirmWriteAsync(tags, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            CoalescingLog.PublishFailed(logger, ex, string.Join(", ", tags), state.Name);
            confirmed = false;
        }

        if (!confirmed)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
        }
    }
}
