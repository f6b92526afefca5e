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
    private EndpointCounters? _get;
    private EndpointCounters? _head;
    private int _reported;

    public EndpointState(Endpoint endpoint, RequestCoalescingOptions options, CoalescingStatsRegistry stats)
    {
        _stats = stats;
        var metadata = endpoint.Metadata;
        var disabled = metadata.GetMetadata<DisableCoalescingAttribute>() is not null;
        var policy = FindPolicy(endpoint);
        Policy = policy ?? CoalescingPolicy.Default;
        Problem = FindProblem(endpoint);
        Enabled = !disabled && Problem is null && (policy is not null || options.CoalesceAllGetRequests);
        VaryByIdentity = Policy.VaryByIdentity ?? options.VaryByIdentity;
        VaryByHeaders = [.. options.VaryByHeaders.Concat(Policy.VaryByHeaders)
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase)];
        IdentityHeaders = [.. options.IdentityHeaders.Order(StringComparer.OrdinalIgnoreCase)];
        InvalidatesTags = Problem is null ? FindInvalidatedTags(endpoint) : [];

        // A handler declared to return a stream or an async sequence is never memoized, however it was marked
        // (an attribute cannot add the endpoint filter that catches such results at run time).
        ReturnsOneShotResult = metadata.GetMetadata<System.Reflection.MethodInfo>() is { } method &&
                               ReplayabilityFilter.ReturnsAsyncSequenceOrStream(method);
        Name = endpoint is RouteEndpoint route && route.RoutePattern.RawText is { } pattern
            ? (pattern.StartsWith('/') ? pattern : "/" + pattern)
            : endpoint.DisplayName ?? "(unnamed endpoint)";
    }

    /// <summary>Things that go wrong in a user's function or in memoizing, each logged once per endpoint.</summary>
    [Flags]
    public enum Failure
    {
        KeyFunction = 1,
        Tags = 2,
        Memoize = 4,
        Misconfigured = 8,
    }

    public CoalescingPolicy Policy { get; }

    /// <summary>Whether eligible requests to this endpoint are coalesced.</summary>
    public bool Enabled { get; }

    /// <summary>Why this endpoint's coalescing settings cannot work, or <see langword="null"/>.</summary>
    public string? Problem { get; }

    public bool VaryByIdentity { get; }

    public string[] VaryByHeaders { get; }

    public string[] IdentityHeaders { get; }

    public TagTemplate[] InvalidatesTags { get; }

    /// <summary>Whether the handler is declared to return a stream or an async sequence, which is never memoized.</summary>
    public bool ReturnsOneShotResult { get; }

    /// <summary>The route pattern, or the display name of an endpoint without one.</summary>
    public string Name { get; }

    public EndpointCounters CountersFor(string method) => HttpMethods.IsHead(method)
        ? _head ??= _stats.Endpoint(HttpMethods.Head, Name)
        : _get ??= _stats.Endpoint(HttpMethods.Get, Name);

    /// <summary>Whether <paramref name="failure"/> is seen here for the first time, and so should be logged.</summary>
    public bool FirstTime(Failure failure)
    {
        var seen = Volatile.Read(ref _reported);
        while ((seen & (int)failure) == 0)
        {
            var previous = Interlocked.CompareExchange(ref _reported, seen | (int)failure, seen);
            if (previous == seen)
            {
                return true;
            }

            seen = previous;
        }

        return false;
    }

    /// <summary>
    /// What makes an endpoint's coalescing settings unusable (a tag naming a route value its route doesn't have),
    /// naming the endpoint and the tag; <see langword="null"/> when they fit.
    /// </summary>
    public static string? FindProblem(Endpoint endpoint)
    {
        if (FindPolicy(endpoint) is { } policy)
        {
            foreach (var tag in policy.Tags)
            {
                if (tag.FindMissingRouteValue(endpoint) is { } problem)
                {
                    return problem;
                }
            }
        }

        foreach (var tag in FindInvalidatedTags(endpoint))
        {
            if (tag.FindMissingRouteValue(endpoint) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    private static CoalescingPolicy? FindPolicy(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<CoalescingPolicy>() ?? endpoint.Metadata.GetMetadata<CoalesceAttribute>()?.Policy;

    private static TagTemplate[] FindInvalidatedTags(Endpoint endpoint) =>
        [.. endpoint.Metadata.GetOrderedMetadata<InvalidatesTagsAttribute>().SelectMany(m => m.Templates)];
}
