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
    /// <summary>The handler that answers with the app's figures as camelCase JSON, never cached.</summary>
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
            return scaleOut is null
                ? context.Response.WriteAsJsonAsync(registry.GetSnapshot(), CoalescingJsonContext.Default.CoalescingStatsSnapshot, contentType: null, context.RequestAborted)
                : context.Response.WriteAsJsonAsync(WithScaleOut(registry.GetSnapshot(), scaleOut), CoalescingJsonContext.Default.JsonObject, contentType: null, context.RequestAborted);
        };
    }

    /// <summary>The stats document with the scale-out object after the fields it always has (which keep their names and order).</summary>
    private static JsonObject WithScaleOut(CoalescingStatsSnapshot snapshot, IScaleOutStatsSource scaleOut)
    {
        var document = JsonSerializer.SerializeToNode(snapshot, CoalescingJsonContext.Default.CoalescingStatsSnapshot)!.AsObject();
        document.Add("redis", scaleOut.GetStatsJson());
        return document;
    }
}
