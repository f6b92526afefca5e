using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

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

        return endpoints.MapGet(pattern, CoalescingStatsDocument.CreateHandler(endpoints.ServiceProvider, nameof(MapCoalescingStats)))
            .WithMetadata(DisableCoalescingAttribute.Instance)
            .WithDisplayName("Coalesce stats");
    }
}
