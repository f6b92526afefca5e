using System.Text.Json;
using System.Text.Json.Nodes;
using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the coalescing stats endpoint.</summary>
public static class CoalescingStatsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET {pattern}</c> to the app's coalescing figures as camelCase JSON (see
    /// <see cref="CoalescingStatsSnapshot"/>). It shows aggregates only, is never coalesced itself, and returns the
    /// endpoint builder so it can be protected, e.g. with <c>.RequireAuthorization()</c>.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route; default <c>/_coalesce/stats</c>.</param>
    /// <returns>The endpoint convention builder.</returns>
    public static IEndpointConventionBuilder MapCoalescingStats(this IEndpointRouteBuilder endpoints, string pattern = "/_coalesce/stats")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);

        var registry = endpoints.ServiceProvider.GetService<CoalescingStatsRegistry>() ?? throw new InvalidOperationException(
            "Request coalescing services are not registered. Call builder.Services.AddRequestCoalescing() before MapCoalescingStats().");

        // A scale-out package adds its figures as a "redis" object; without one the document is unchanged.
        var scaleOut = endpoints.ServiceProvider.GetService<IScaleOutStatsSource>();
        return endpoints.MapGet(pattern, (RequestDelegate)(context =>
            {
                context.Response.Headers.CacheControl = "no-store";
                return scaleOut is null
                    ? context.Response.WriteAsJsonAsync(registry.GetSnapshot(), CoalescingJsonContext.Default.CoalescingStatsSnapshot, contentType: null, context.RequestAborted)
                    : context.Response.WriteAsJsonAsync(WithScaleOut(registry.GetSnapshot(), scaleOut), CoalescingJsonContext.Default.JsonObject, contentType: null, context.RequestAborted);
            }))
            .WithMetadata(DisableCoalescingAttribute.Instance)
            .WithDisplayName("Coalesce stats");
    }

    /// <summary>The stats document with the scale-out object after the fields it always has (which keep their names and order).</summary>
    private static JsonObject WithScaleOut(CoalescingStatsSnapshot snapshot, IScaleOutStatsSource scaleOut)
    {
        var document = JsonSerializer.SerializeToNode(snapshot, CoalescingJsonContext.Default.CoalescingStatsSnapshot)!.AsObject();
        document.Add("redis", scaleOut.GetStatsJson());
        return document;
    }
}
