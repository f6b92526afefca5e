using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the coalescing stats endpoint.</summary>
public static class CoalescingStatsEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>GET {pattern}</c> to the app's coalescing figures as camelCase JSON (see
    /// <see cref="CoalescingStatsSnapshot"/>; <c>?endpoint=GET /products/{id}</c> or <c>?endpoint=/products/{id}</c> lists
    /// only that endpoint), and <c>POST {pattern}</c> to a reset of its counts (204; refused with 403 when a browser
    /// says the request comes from another site). It shows aggregates only, is never coalesced itself, and returns the
    /// endpoint builder so both methods can be protected at once, e.g. with <c>.RequireAuthorization()</c>.
    /// </summary>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The route; default <c>/_coalesce/stats</c>.</param>
    /// <returns>The endpoint convention builder.</returns>
    public static IEndpointConventionBuilder MapCoalescingStats(this IEndpointRouteBuilder endpoints, string pattern = "/_coalesce/stats")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);

        return endpoints.MapMethods(pattern, [HttpMethods.Get, HttpMethods.Post], CoalescingStatsDocument.CreateHandler(endpoints.ServiceProvider, nameof(MapCoalescingStats)))
            .WithMetadata(DisableCoalescingAttribute.Instance)
            .WithDisplayName("Coalesce stats");
    }
}
