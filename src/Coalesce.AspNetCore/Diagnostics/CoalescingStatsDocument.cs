using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore;

/// <summary>
/// Writes the stats document: what <c>MapCoalescingStats</c> serves and what the dashboard reads, one handler for both
/// so the page always shows the document the endpoint serves.
/// </summary>
internal static class CoalescingStatsDocument
{
    private const string EndpointFilter = "endpoint";

    /// <summary>
    /// The handler that answers a GET with the app's figures as camelCase JSON, never cached (<c>?endpoint=</c> lists
    /// one endpoint), and a POST with a reset of the counts; a dashboard maps it for GET only.
    /// </summary>
    /// <param name="services">The app's services.</param>
    /// <param name="caller">The mapping method, named in the error when request coalescing is not registered.</param>
    public static RequestDelegate CreateHandler(IServiceProvider services, string caller)
    {
        var registry = services.GetService<CoalescingStatsRegistry>() ?? throw new InvalidOperationException(
            $"Request coalescing services are not registered. Call builder.Services.AddRequestCoalescing() before {caller}().");

        // A scale-out package adds its figures as a "redis" object; without one the document is unchanged.
        var scaleOut = services.GetService<IScaleOutStatsSource>();
        return context =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return HttpMethods.IsPost(context.Request.Method) ? ResetAsync(context, registry) : WriteAsync(context, registry, scaleOut);
        };
    }

    private static Task WriteAsync(HttpContext context, CoalescingStatsRegistry registry, IScaleOutStatsSource? scaleOut)
    {
        var query = context.Request.Query;
        string? endpoint = null;
        if (query.TryGetValue(EndpointFilter, out var filter))
        {
            endpoint = filter.Count == 1 ? filter[0] : null;
            if (string.IsNullOrWhiteSpace(endpoint))
            {
                return PlainAsync(context, StatusCodes.Status400BadRequest,
                    "The 'endpoint' query parameter takes one endpoint: its name ('GET /products/{id}') or its route pattern ('/products/{id}').");
            }
        }

        var snapshot = registry.GetSnapshot(endpoint);
        if (endpoint is not null && snapshot.Endpoints.Count == 0)
        {
            var known = registry.EndpointNames();
            return PlainAsync(context, StatusCodes.Status404NotFound,
                $"No endpoint '{endpoint}' has been counted. Give its name or its route pattern; counted so far: " +
                (known.Count == 0 ? "none." : string.Join(", ", known.Select(n => $"'{n}'")) + "."));
        }

        return scaleOut is null
            ? context.Response.WriteAsJsonAsync(snapshot, CoalescingJsonContext.Default.CoalescingStatsSnapshot, contentType: null, context.RequestAborted)
            : context.Response.WriteAsJsonAsync(WithScaleOut(snapshot, scaleOut), CoalescingJsonContext.Default.JsonObject, contentType: null, context.RequestAborted);
    }

    /// <summary>
    /// A reset changes state, so it is a POST, never a GET; and since a page on another site can make a browser send a
    /// simple POST with the user's cookies, one the browser marks as cross-site (<c>Sec-Fetch-Site</c>, or an
    /// <c>Origin</c> that is not this host) is refused.
    /// </summary>
    private static Task ResetAsync(HttpContext context, CoalescingStatsRegistry registry)
    {
        if (CrossSiteReason(context.Request) is { } reason)
        {
            return PlainAsync(context, StatusCodes.Status403Forbidden, $"The stats were not reset: {reason}");
        }

        registry.Reset();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    private static string? CrossSiteReason(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0 && !site.Equals("same-origin", StringComparison.OrdinalIgnoreCase) && !site.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return $"the browser marked the request '{site}' (Sec-Fetch-Site); only a same-origin request may reset them.";
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && origin != "null" &&
            (!Uri.TryCreate(origin, UriKind.Absolute, out var from) ||
             !string.Equals(from.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase) ||
             !string.Equals(from.Scheme, request.Scheme, StringComparison.OrdinalIgnoreCase)))
        {
            return $"the request came from the origin '{origin}', not from this host; only a same-origin request may reset them.";
        }

        return origin == "null" ? "the request came from an opaque origin ('Origin: null'); only a same-origin request may reset them." : null;
    }

    private static Task PlainAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(message, context.RequestAborted);
    }

    /// <summary>The stats document with the scale-out object after the fields it always has (which keep their names and order).</summary>
    private static JsonObject WithScaleOut(CoalescingStatsSnapshot snapshot, IScaleOutStatsSource scaleOut)
    {
        var document = JsonSerializer.SerializeToNode(snapshot, CoalescingJsonContext.Default.CoalescingStatsSnapshot)!.AsObject();
        document.Add("redis", scaleOut.GetStatsJson());
        return document;
    }
}
