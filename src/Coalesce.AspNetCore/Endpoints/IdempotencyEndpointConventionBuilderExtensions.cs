using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Http;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Endpoint conventions for idempotency keys.</summary>
public static class IdempotencyEndpointConventionBuilderExtensions
{
    /// <summary>
    /// Makes POST, PUT, PATCH and DELETE requests to the endpoint(s) that carry an idempotency key run once per key:
    /// a retry after the first finished gets its response again (with <c>Idempotent-Replayed: true</c>), a duplicate
    /// while it runs gets 409 (or waits, see <see cref="IdempotencyPolicyBuilder.WaitForDuplicates"/>), the same key
    /// with another request gets 422. GET, HEAD and the other safe methods pass through untouched. Keys are scoped by
    /// the caller's identity and the endpoint. Runs inside <c>UseRequestCoalescing()</c>; docs/idempotency.md in the
    /// repository has the details.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">A single endpoint, a route group, or controllers.</param>
    /// <param name="configure">Shapes the policy; optional.</param>
    /// <returns>The builder.</returns>
    public static TBuilder WithIdempotency<TBuilder>(this TBuilder builder, Action<IdempotencyPolicyBuilder>? configure = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var policyBuilder = new IdempotencyPolicyBuilder();
        configure?.Invoke(policyBuilder);
        var policy = policyBuilder.Build();
        builder.Add(endpoint => endpoint.Metadata.Add(policy));
        return builder;
    }

    /// <summary>
    /// As <see cref="WithIdempotency{TBuilder}(TBuilder, Action{IdempotencyPolicyBuilder}?)"/>, with the named policy added by
    /// <see cref="RequestCoalescingOptions.AddIdempotencyPolicy(string, Action{IdempotencyPolicyBuilder})"/> or configured under
    /// <c>IdempotencyPolicies:{name}</c>; a name nobody added stops the app at start-up.
    /// </summary>
    /// <typeparam name="TBuilder">The endpoint convention builder.</typeparam>
    /// <param name="builder">A single endpoint, a route group, or controllers.</param>
    /// <param name="policyName">The policy's name (case-insensitive).</param>
    /// <returns>The builder.</returns>
    public static TBuilder WithIdempotency<TBuilder>(this TBuilder builder, string policyName)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(policyName);
        var metadata = new NamedIdempotencyPolicy(policyName);
        builder.Add(endpoint => endpoint.Metadata.Add(metadata));
        return builder;
    }
}
