using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// The dashboard's one action, <c>POST {pattern}/dashboard/invalidate</c> with a form of <c>kind</c> (<c>tag</c>,
/// <c>key</c> or <c>all</c>) and <c>value</c>: invalidates the app's <see cref="MemoCache"/> through its own methods, so
/// flights in progress are told first and, with a scale-out package, every instance evicts too; a tag also leaves the
/// app's <c>HybridCache</c>, as a write's <c>InvalidatesTags</c> does. 404 unless
/// <see cref="CoalescingDashboardOptions.AllowInvalidation"/>; 400 without a valid antiforgery token or with a bad form.
/// </summary>
internal sealed class DashboardInvalidation(
    CoalescingDashboardOptions options, IAntiforgery? antiforgery, MemoCache cache, HybridCacheTagInvalidator hybridCache, ILogger logger)
{
    internal const int MaxValueLength = 1024;

    public async Task HandleAsync(HttpContext context)
    {
        if (!DashboardAccess.IsAllowed(context) || !options.AllowInvalidation || antiforgery is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        DashboardAsset.AddSecurityHeaders(context.Response);
        context.Response.Headers.CacheControl = "no-store";
        if (!await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
        {
            await RefuseAsync(context, "the antiforgery token is missing or invalid; reload the page and try again.").ConfigureAwait(false);
            return;
        }

        if (!context.Request.HasFormContentType)
        {
            await RefuseAsync(context, "send the invalidation as a form (kind, value).").ConfigureAwait(false);
            return;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
        var kind = form["kind"].ToString();
        var value = form["value"].ToString();
        if (kind is not ("tag" or "key" or "all"))
        {
            await RefuseAsync(context, $"kind must be tag, key or all, not '{Truncate(kind)}'.").ConfigureAwait(false);
            return;
        }

        if (kind != "all" && (string.IsNullOrWhiteSpace(value) || value.Length > MaxValueLength))
        {
            await RefuseAsync(context, $"a {kind} to invalidate must be given, at most {MaxValueLength} characters long.").ConfigureAwait(false);
            return;
        }

        var user = context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : "a local request";
        int removed;
        switch (kind)
        {
            case "tag":
                removed = await cache.InvalidateByTagAsync(value, CancellationToken.None).ConfigureAwait(false);
                await hybridCache.RemoveByTagsAsync([value], "the coalescing dashboard").ConfigureAwait(false);
                DashboardLog.InvalidatedTag(logger, value, user, removed);
                break;
            case "key":
                removed = await cache.InvalidateAsync(value, CancellationToken.None).ConfigureAwait(false) ? 1 : 0;
                DashboardLog.InvalidatedKey(logger, user, removed);
                break;
            default:
                removed = cache.Count;
                await cache.ClearAsync(CancellationToken.None).ConfigureAwait(false);
                DashboardLog.Cleared(logger, user, removed);
                value = "";
                break;
        }

        var result = new JsonObject { ["kind"] = kind, ["value"] = value, ["removed"] = removed };
        await context.Response.WriteAsJsonAsync(result, CoalescingJsonContext.Default.JsonObject, contentType: null, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task RefuseAsync(HttpContext context, string reason)
    {
        DashboardLog.InvalidationRefused(logger, context.Connection.RemoteIpAddress?.ToString(), reason);
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync("Invalidation refused: " + reason, context.RequestAborted).ConfigureAwait(false);
    }

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
