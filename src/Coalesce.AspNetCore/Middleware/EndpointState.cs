using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Coalesce.AspNetCore;

/// <summary>
/// What the middleware needs to know about one endpoint, read from its metadata once and then reused for
/// every request: its policy, whether it opted in or out, what it invalidates, and its stats.
/// </summary>
internal sealed class EndpointState
{
    private readonly CoalescingStatsRegistry _stats;
    private SharedCallCounters? _get;
    private SharedCallCounters? _head;

    public EndpointState(Endpoint endpoint, RequestCoalescingOptions options, CoalescingStatsRegistry stats)
    {
        _stats = stats;
        var metadata = endpoint.Metadata;
        var disabled = metadata.GetMetadata<DisableCoalescingAttribute>() is not null;
        var policy = metadata.GetMetadata<CoalescingPolicy>() ?? metadata.GetMetadata<CoalesceAttribute>()?.Policy;
        Policy = policy ?? CoalescingPolicy.Default;
        Enabled = !disabled && (policy is not null || options.CoalesceAllGetRequests);
        VaryByIdentity = Policy.VaryByIdentity ?? options.VaryByIdentity;
        VaryByHeaders = [.. options.VaryByHeaders.Concat(Policy.VaryByHeaders)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase)];
        InvalidatesTags = [.. metadata.GetOrderedMetadata<InvalidatesTagsAttribute>().SelectMany(m => m.Templates)];

        // A handler declared to return a stream or an async sequence is never memoized, however it was marked
        // (an attribute cannot add the endpoint filter that catches such results at run time).
        ReturnsOneShotResult = metadata.GetMetadata<System.Reflection.MethodInfo>() is { } method &&
                               ReplayabilityFilter.ReturnsAsyncSequenceOrStream(method);
        Name = endpoint is RouteEndpoint route && route.RoutePattern.RawText is { } pattern
            ? (pattern.StartsWith('/') ? pattern : "/" + pattern)
            : endpoint.DisplayName ?? "(unnamed endpoint)";
    }

    public CoalescingPolicy Policy { get; }

    /// <summary>Whether eligible requests to this endpoint are coalesced.</summary>
    public bool Enabled { get; }

    public bool VaryByIdentity { get; }

    public string[] VaryByHeaders { get; }

    public TagTemplate[] InvalidatesTags { get; }

    /// <summary>Whether the handler is declared to return a stream or an async sequence, which is never memoized.</summary>
    public bool ReturnsOneShotResult { get; }

    /// <summary>The route pattern, or the display name of an endpoint without one.</summary>
    public string Name { get; }

    public SharedCallCounters CountersFor(string method) => HttpMethods.IsHead(method)
        ? _head ??= _stats.Endpoint($"HEAD {Name}")
        : _get ??= _stats.Endpoint($"GET {Name}");
}
