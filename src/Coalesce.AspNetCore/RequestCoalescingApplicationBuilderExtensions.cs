using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds the request-coalescing middleware to a pipeline.</summary>
public static class RequestCoalescingApplicationBuilderExtensions
{
    private const string EndpointRouteBuilderKey = "__EndpointRouteBuilder";
    private const string GlobalEndpointRouteBuilderKey = "__GlobalEndpointRouteBuilder";

    /// <summary>
    /// Adds request coalescing. Place it after <c>UseRouting</c> (implicit in a <c>WebApplication</c>),
    /// <c>UseAuthentication</c> and <c>UseAuthorization</c>, and before the endpoints, so it sees the chosen
    /// endpoint's policy and the caller's identity, and only ever coalesces requests that were allowed through.
    /// Exception handling belongs before it. Response compression is correct on either side; after it is
    /// cheaper, since followers and memoized hits then replay bytes compressed once.
    /// </summary>
    /// <param name="app">The application builder.</param>
    /// <returns>The application builder.</returns>
    /// <exception cref="InvalidOperationException">
    /// <c>AddRequestCoalescing</c> was not called, or the builder has no routing before this point.
    /// </exception>
    public static IApplicationBuilder UseRequestCoalescing(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (app.ApplicationServices.GetService<CoalescingStatsRegistry>() is null)
        {
            throw new InvalidOperationException(
                "Request coalescing services are not registered. Call builder.Services.AddRequestCoalescing() before app.UseRequestCoalescing().");
        }

        if (!app.Properties.ContainsKey(EndpointRouteBuilderKey) && !app.Properties.ContainsKey(GlobalEndpointRouteBuilderKey))
        {
            throw new InvalidOperationException(
                "UseRequestCoalescing needs endpoint routing before it: call app.UseRouting() first, so it can read each endpoint's coalescing policy.");
        }

        return app.UseMiddleware<RequestCoalescingMiddleware>();
    }
}
