using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Endpoint conventions for request coalescing, memoization and tag invalidation.</summary>
public static class CoalescingEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Coalesces identical concurrent requests to the endpoint(s), and shapes the key, memoization, tags and
    /// wait timeout with <paramref name="configure"/>. Needed for an endpoint to be coalesced when
    /// <see cref="RequestCoalescingOptions.CoalesceAllGetRequests"/> is off.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">A single endpoint, a route group, or controllers.</param>
    /// <param name="configure">Shapes the policy; optional.</param>
    /// <returns>The builder.</returns>
    public static TBuilder WithCoalescing<TBuilder>(this TBuilder builder, Action<CoalescingPolicyBuilder>? configure = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var policyBuilder = new CoalescingPolicyBuilder();
        configure?.Invoke(policyBuilder);
        var policy = policyBuilder.Build();

        builder.Add(endpoint =>
        {
            endpoint.Metadata.Add(policy);
            if (policy.MemoizeTtl is not null)
            {
                endpoint.FilterFactories.Add(ReplayabilityFilter.Create);
            }
        });
        return builder;
    }

    /// <summary>
    /// Coalesces the endpoint(s) with the named policy added by
    /// <see cref="RequestCoalescingOptions.AddPolicy(string, Action{CoalescingPolicyBuilder})"/> or configured under
    /// <c>Policies:{name}</c>. The policy is looked up once per endpoint; a name nobody added stops the app at start-up
    /// with a message naming the endpoint and the policy.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">A single endpoint, a route group, or controllers.</param>
    /// <param name="policyName">The policy's name (case-insensitive).</param>
    /// <returns>The builder.</returns>
    public static TBuilder WithCoalescing<TBuilder>(this TBuilder builder, string policyName)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);
        var metadata = new NamedCoalescingPolicy(policyName);

        builder.Add(endpoint =>
        {
            endpoint.Metadata.Add(metadata);
            endpoint.FilterFactories.Add((context, next) =>
                context.ApplicationServices.GetService<IOptions<RequestCoalescingOptions>>()?.Value.FindPolicy(policyName) is { MemoizeTtl: not null }
                    ? ReplayabilityFilter.Create(context, next)
                    : next);
        });
        return builder;
    }

    /// <summary>Leaves the endpoint(s) out of request coalescing and memoization.</summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">A single endpoint, a route group, or controllers.</param>
    /// <returns>The builder.</returns>
    public static TBuilder DisableCoalescing<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(DisableCoalescingAttribute.Instance));
        return builder;
    }

    /// <summary>
    /// When the endpoint answers 2xx, evicts the memoized responses with these tags before its response is sent,
    /// so a client that sees the 2xx reads fresh data at once. A failure (non-2xx or an exception) evicts nothing.
    /// Tags may name route values in braces, such as <c>product:{id}</c>.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">A single endpoint, a route group, or controllers.</param>
    /// <param name="tags">The tags to evict; at least one.</param>
    /// <returns>The builder.</returns>
    public static TBuilder InvalidatesTags<TBuilder>(this TBuilder builder, params string[] tags)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var metadata = new InvalidatesTagsAttribute(tags);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
