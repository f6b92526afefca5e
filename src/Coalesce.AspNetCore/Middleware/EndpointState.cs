using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

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
        var policy = FindPolicy(endpoint, options, out _);
        Policy = policy ?? CoalescingPolicy.Default;
        Problem = FindProblem(endpoint, options);
        Enabled = !disabled && Problem is null && (policy is not null || options.CoalesceAllGetRequests);
        VaryByIdentity = Policy.VaryByIdentity ?? options.VaryByIdentity;
        VaryByHeaders = [.. options.VaryByHeaders.Concat(Policy.VaryByHeaders).Concat(DeclaredHeaders(metadata))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .Order(StringComparer.OrdinalIgnoreCase)];
        IdentityHeaders = [.. options.IdentityHeaders.Order(StringComparer.OrdinalIgnoreCase)];
        VaryByHeaderReaders = Array.ConvertAll(VaryByHeaders, HeaderReader.For);
        IdentityHeaderReaders = Array.ConvertAll(IdentityHeaders, HeaderReader.For);
        InvalidatesTags = Problem is null ? FindInvalidatedTags(endpoint) : [];
        Health = Policy.HasStaleWindows ? new EndpointHealth() : null;
        IgnoredInputs = [.. options.IgnoredInputs.Select(i => RequestInput.TryParse(i, out var input) ? input.Value : default).Where(i => i.Kind != 0)];

        // A handler declared to return a stream or an async sequence is never memoized, however it was marked
        // (an attribute cannot add the endpoint filter that catches such results at run time).
        ReturnsOneShotResult = metadata.GetMetadata<System.Reflection.MethodInfo>() is { } method &&
                               ReplayabilityFilter.ReturnsAsyncSequenceOrStream(method);
        Name = endpoint is RouteEndpoint route && route.RoutePattern.RawText is { } pattern
            ? (pattern.StartsWith('/') ? pattern : "/" + pattern)
            : endpoint.DisplayName ?? "(unnamed endpoint)";
        Inputs = new EndpointInputs(Name);
        Idempotency = Problem is null ? FindIdempotencyPolicy(endpoint, options, out _) : null;
    }

    /// <summary>The endpoint's idempotency policy, for its unsafe requests; <see langword="null"/> when it has none.</summary>
    public IdempotencyPolicy? Idempotency { get; }

    /// <summary>The idempotency counters of the endpoint and <paramref name="method"/> (an unsafe one).</summary>
    public IdempotencyCounters IdempotencyCountersFor(string method) =>
        _stats.Endpoint(method, Name).Idempotency;

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

    /// <summary>For endpoints with stale windows: whether the endpoint is failing, so stale responses stand in.</summary>
    public EndpointHealth? Health { get; }

    /// <summary>Whether eligible requests to this endpoint are coalesced.</summary>
    public bool Enabled { get; }

    /// <summary>Why this endpoint's coalescing settings cannot work, or <see langword="null"/>.</summary>
    public string? Problem { get; }

    public bool VaryByIdentity { get; }

    public string[] VaryByHeaders { get; }

    public string[] IdentityHeaders { get; }

    /// <summary>How to read each of <see cref="VaryByHeaders"/>, in the same order.</summary>
    public Func<IHeaderDictionary, StringValues>[] VaryByHeaderReaders { get; }

    /// <summary>How to read each of <see cref="IdentityHeaders"/>, in the same order.</summary>
    public Func<IHeaderDictionary, StringValues>[] IdentityHeaderReaders { get; }

    public TagTemplate[] InvalidatesTags { get; }

    /// <summary>
    /// Request headers no shared execution depends on: the validators and the range, which a shared execution never
    /// sees (a request with them never leads) and each replay answers for its own request, and the body's headers
    /// (a coalesced request has no body).
    /// </summary>
    private static readonly FrozenSet<string> AnsweredPerRequest = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        HeaderNames.Range, HeaderNames.IfRange, HeaderNames.IfMatch, HeaderNames.IfNoneMatch, HeaderNames.IfModifiedSince,
        HeaderNames.IfUnmodifiedSince, HeaderNames.ContentType, HeaderNames.ContentLength);

    /// <summary>What the endpoint was seen to read outside its key, and the shares refused for it.</summary>
    public EndpointInputs Inputs { get; }

    /// <summary>Inputs the app said never change a response (<see cref="RequestCoalescingOptions.IgnoredInputs"/>).</summary>
    public RequestInput[] IgnoredInputs { get; }

    /// <summary>
    /// Whether <paramref name="input"/> needs no comparing: the key holds it already (a vary header, an identity
    /// header, the Host, the query when the key holds the whole query, cookies when the identity hash holds them), or
    /// the app ignores it.
    /// </summary>
    public bool HoldsInput(RequestInput input)
    {
        if (Array.IndexOf(IgnoredInputs, input) >= 0)
        {
            return true;
        }

        var wholeQueryKeyed = Policy.KeyFunction is null && Policy.VaryByQueryKeys is null;
        var cookiesKeyed = VaryByIdentity && Array.Exists(IdentityHeaders, h => h.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase));
        return input.Kind switch
        {
            InputKind.Header => AnsweredPerRequest.Contains(input.Name) ||
                                input.Name.Equals(HeaderNames.Host, StringComparison.OrdinalIgnoreCase) ||
                                (input.Name.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase) && cookiesKeyed) ||
                                Shareability.IsInKey(this, input.Name),
            InputKind.Query => wholeQueryKeyed ||
                               (Policy.VaryByQueryKeys is { } keys && Array.Exists(keys, k => k.Equals(input.Name, StringComparison.OrdinalIgnoreCase))),
            InputKind.AllQuery => wholeQueryKeyed,
            InputKind.Cookie or InputKind.AllCookies => cookiesKeyed,
            _ => false,
        };
    }

    /// <summary>Whether the handler is declared to return a stream or an async sequence, which is never memoized.</summary>
    public bool ReturnsOneShotResult { get; }

    /// <summary>The route pattern, or the display name of an endpoint without one.</summary>
    public string Name { get; }

    public EndpointCounters CountersFor(string method) => HttpMethods.IsHead(method)
        ? _head ??= _stats.Endpoint(HttpMethods.Head, Name, Inputs)
        : _get ??= _stats.Endpoint(HttpMethods.Get, Name, Inputs);

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
    /// What makes an endpoint's coalescing settings unusable (a policy name nobody added, a tag naming a route value
    /// its route doesn't have), naming the endpoint and the policy or tag; <see langword="null"/> when they fit.
    /// </summary>
    public static string? FindProblem(Endpoint endpoint, RequestCoalescingOptions options)
    {
        if (FindPolicy(endpoint, options, out var policyProblem) is { } policy)
        {
            foreach (var tag in policy.Tags)
            {
                if (tag.FindMissingRouteValue(endpoint) is { } problem)
                {
                    return problem;
                }
            }
        }
        else if (policyProblem is not null)
        {
            return policyProblem;
        }

        if (FindIdempotencyPolicy(endpoint, options, out var idempotencyProblem) is null && idempotencyProblem is not null)
        {
            return idempotencyProblem;
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

    /// <summary>
    /// The endpoint's policy: the last of <c>WithCoalescing(p =&gt; ...)</c>, <c>WithCoalescing("name")</c> and
    /// <c>[Coalesce]</c> in its metadata (conventions come after attributes, so they win), a named one looked up in
    /// <paramref name="options"/>. <see langword="null"/> when it has none, or when its policy cannot be found
    /// (<paramref name="problem"/> then says why).
    /// </summary>
    private static CoalescingPolicy? FindPolicy(Endpoint endpoint, RequestCoalescingOptions options, out string? problem)
    {
        problem = null;
        var metadata = endpoint.Metadata;
        for (var i = metadata.Count - 1; i >= 0; i--)
        {
            switch (metadata[i])
            {
                case CoalescingPolicy policy:
                    return policy;
                case NamedCoalescingPolicy named:
                    return Named(named.Name, out problem);
                case CoalesceAttribute { PolicyName: { } name } attribute when attribute.HasInlineSettings:
                    problem = $"The [Coalesce] attribute on endpoint '{endpoint.DisplayName}' names the policy '{name}' and also sets its own settings; use one or the other.";
                    return null;
                case CoalesceAttribute { PolicyName: { } name }:
                    return Named(name, out problem);
                case CoalesceAttribute attribute:
                    try
                    {
                        return attribute.Policy;
                    }
                    catch (InvalidOperationException ex)
                    {
                        problem = $"The [Coalesce] attribute on endpoint '{endpoint.DisplayName}' is not valid: {ex.Message}";
                        return null;
                    }
            }
        }

        return null;

        CoalescingPolicy? Named(string name, out string? problem)
        {
            var found = options.FindPolicy(name);
            problem = found is null
                ? $"Endpoint '{endpoint.DisplayName}' uses the coalescing policy '{name}', which is not registered: add it with AddRequestCoalescing(o => o.AddPolicy(\"{name}\", p => ...)) or configure it under Policies:{name}."
                : null;
            return found;
        }
    }

    /// <summary>
    /// The endpoint's idempotency policy: the last of <c>WithIdempotency(p =&gt; ...)</c>, <c>WithIdempotency("name")</c>
    /// and <c>[Idempotent]</c> in its metadata, a named one looked up in <paramref name="options"/>.
    /// <see langword="null"/> when it has none or it cannot be found or built (<paramref name="problem"/> says why).
    /// </summary>
    private static IdempotencyPolicy? FindIdempotencyPolicy(Endpoint endpoint, RequestCoalescingOptions options, out string? problem)
    {
        problem = null;
        var metadata = endpoint.Metadata;
        for (var i = metadata.Count - 1; i >= 0; i--)
        {
            switch (metadata[i])
            {
                case IdempotencyPolicy policy:
                    return policy;
                case NamedIdempotencyPolicy named:
                    return Named(named.Name, out problem);
                case IdempotentAttribute { PolicyName: { } name } attribute when attribute.HasInlineSettings:
                    problem = $"The [Idempotent] attribute on endpoint '{endpoint.DisplayName}' names the policy '{name}' and also sets its own settings; use one or the other.";
                    return null;
                case IdempotentAttribute { PolicyName: { } name }:
                    return Named(name, out problem);
                case IdempotentAttribute attribute:
                    try
                    {
                        return attribute.BuildPolicy();
                    }
                    catch (InvalidOperationException ex)
                    {
                        problem = $"The [Idempotent] attribute on endpoint '{endpoint.DisplayName}' is not valid: {ex.Message}";
                        return null;
                    }
            }
        }

        return null;

        IdempotencyPolicy? Named(string name, out string? problem)
        {
            var found = options.FindIdempotencyPolicy(name);
            problem = found is null
                ? $"Endpoint '{endpoint.DisplayName}' uses the idempotency policy '{name}', which is not registered: add it with AddRequestCoalescing(o => o.AddIdempotencyPolicy(\"{name}\", p => ...)) or configure it under IdempotencyPolicies:{name}."
                : null;
            return found;
        }
    }

    /// <summary>
    /// The headers the handler's parameters are bound from (<c>[FromHeader]</c>, also inside <c>[AsParameters]</c>, and
    /// on MVC actions): declared inputs, keyed from the first request.
    /// </summary>
    private static IEnumerable<string> DeclaredHeaders(EndpointMetadataCollection metadata)
    {
        var method = metadata.GetMetadata<System.Reflection.MethodInfo>() ??
                     metadata.GetMetadata<Microsoft.AspNetCore.Mvc.Controllers.ControllerActionDescriptor>()?.MethodInfo;
        if (method is null)
        {
            yield break;
        }

        foreach (var parameter in method.GetParameters())
        {
            if (HeaderOf(parameter, parameter.Name) is { } name)
            {
                yield return name;
            }
        }
    }

    private static string? HeaderOf(System.Reflection.ParameterInfo member, string? memberName)
    {
        foreach (var attribute in member.GetCustomAttributes(inherit: true))
        {
            if (attribute is Microsoft.AspNetCore.Http.Metadata.IFromHeaderMetadata header)
            {
                return string.IsNullOrEmpty(header.Name) ? memberName : header.Name;
            }
        }

        return null;
    }

    private static TagTemplate[] FindInvalidatedTags(Endpoint endpoint) =>
        [.. endpoint.Metadata.GetOrderedMetadata<InvalidatesTagsAttribute>().SelectMany(m => m.Templates)];
}
