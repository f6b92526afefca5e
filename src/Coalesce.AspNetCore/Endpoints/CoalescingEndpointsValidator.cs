using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>
/// Checks every endpoint's coalescing settings when the app starts, the way
/// options are validated: an app whose tags name route values its routes do not have, or whose endpoints name
/// coalescing policies nobody added, fails to start with one message listing each endpoint and tag or policy,
/// instead of failing requests later. (Should an endpoint appear later, the middleware leaves a misconfigured one
/// alone and logs why; it never breaks the others.)
/// </summary>
/// <remarks>
/// A start-up filter, so the check runs as soon as the request pipeline is built (which is when routing learns the
/// app's endpoints) and before the server starts: a misconfigured app never listens, nor logs that it does.
/// </remarks>
internal sealed class CoalescingEndpointsValidator : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        next(app);
        Validate(app.ApplicationServices);
    };

    internal static void Validate(IServiceProvider services)
    {
        if (services.GetService(typeof(EndpointDataSource)) is not EndpointDataSource endpoints)
        {
            return;
        }

        var options = services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;
        List<string>? failures = null;
        foreach (var endpoint in endpoints.Endpoints)
        {
            if (EndpointState.FindProblem(endpoint, options) is { } problem)
            {
                (failures ??= []).Add(problem);
            }
        }

        if (failures is not null)
        {
            throw new InvalidOperationException(
                $"Request coalescing is misconfigured on {failures.Count} endpoint(s):{Environment.NewLine}- " +
                string.Join(Environment.NewLine + "- ", failures));
        }

        DescribeCoalescedEndpoints(services, endpoints, options);
    }

    /// <summary>One Information line per coalesced endpoint: what its key holds and what its policy does.</summary>
    private static void DescribeCoalescedEndpoints(IServiceProvider services, EndpointDataSource endpoints, RequestCoalescingOptions options)
    {
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<RequestCoalescingMiddleware>();
        if (!logger.IsEnabled(LogLevel.Information) || services.GetService<CoalescingStatsRegistry>() is not { } stats)
        {
            return;
        }

        foreach (var endpoint in endpoints.Endpoints)
        {
            var state = new EndpointState(endpoint, options, stats);
            if (state.Enabled && endpoint is RouteEndpoint && AnswersGetOrHead(endpoint))
            {
                CoalescingLog.EndpointCoalesced(logger, state.Name, DescribeKey(state), DescribePolicy(state.Policy));
            }
        }
    }

    /// <summary>Whether the endpoint can be reached by a GET or a HEAD (only those are coalesced).</summary>
    private static bool AnswersGetOrHead(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods is not { Count: > 0 } methods ||
        methods.Any(m => HttpMethods.IsGet(m) || HttpMethods.IsHead(m));

    private static string DescribeKey(EndpointState state)
    {
        var policy = state.Policy;
        var parts = new List<string> { "method, scheme, host, path base" };
        parts.Add(policy.KeyFunction is not null
            ? "a KeyBy function (in place of path and query)"
            : policy.VaryByQueryKeys is { } only ? $"path, query {(only.Length == 0 ? "(none)" : string.Join(", ", only))}" : "path, the whole query");
        if (policy.VaryByRouteValues.Length > 0)
        {
            parts.Add("route values " + string.Join(", ", policy.VaryByRouteValues));
        }

        if (state.VaryByHeaders.Length > 0)
        {
            parts.Add("headers " + string.Join(", ", state.VaryByHeaders));
        }

        parts.Add(state.VaryByIdentity ? "the caller's identity" : "not the caller's identity");
        return string.Join("; ", parts) + " (and any input it is seen to read)";
    }

    private static string DescribePolicy(CoalescingPolicy policy)
    {
        if (policy.MemoizeTtl is not { } ttl)
        {
            return "not memoized";
        }

        var text = $"memoized for {ttl}";
        if (policy.HasStaleWindows)
        {
            text += $", stale-while-revalidate {policy.StaleWhileRevalidate}, stale-if-error {policy.StaleIfError}";
        }

        return policy.HasTags
            ? text + ", tags " + string.Join(", ", policy.Tags.Select(t => t.Text).Concat(policy.TagFunctions.Select(_ => "(a function)")))
            : text;
    }
}
