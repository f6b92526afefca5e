using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore;

/// <summary>
/// The request path's view of the other instances: the seams a scale-out package registers
/// (<c>AddStackExchangeRedisCoalescing</c>), or do-nothing objects when none is, so the request path never asks
/// whether Redis is there — only whether a seam is worth an asynchronous step.
/// </summary>
internal sealed class ScaleOutSeams
{
    public ScaleOutSeams(IServiceProvider services)
    {
        var store = services.GetService<ISecondLevelStore>();
        SecondLevel = store ?? NullSecondLevelStore.Instance;
        HasSecondLevel = store is not null;
        Invalidation = services.GetService<IDistributedInvalidation>() ?? NullDistributedInvalidation.Instance;
        AcrossInstances = services.GetService<IDistributedSingleFlight>() is { Enabled: true } across
            ? across
            : NullDistributedSingleFlight.Instance;
        Idempotency = services.GetService<IDistributedIdempotency>() ?? NullDistributedIdempotency.Instance;
    }

    /// <summary>Idempotency keys across instances.</summary>
    public IDistributedIdempotency Idempotency { get; }

    /// <summary>The shared store of rendered responses.</summary>
    public ISecondLevelStore SecondLevel { get; }

    /// <summary>Whether <see cref="SecondLevel"/> is a real store (asking it costs a round trip).</summary>
    public bool HasSecondLevel { get; }

    /// <summary>Invalidations to and from the other instances.</summary>
    public IDistributedInvalidation Invalidation { get; }

    /// <summary>One execution per key across instances (<c>CoalesceAcrossInstances</c>).</summary>
    public IDistributedSingleFlight AcrossInstances { get; }

    /// <summary>Whether <see cref="AcrossInstances"/> is on.</summary>
    public bool CoalescesAcrossInstances => AcrossInstances.Enabled;

    /// <summary>
    /// Whether a locally kept response of <paramref name="state"/>'s endpoint may be served: always for an untagged
    /// one; a tagged one only while this instance follows the others' invalidations (otherwise it may be stale, and the
    /// leader asks the second level, which is authoritative, or runs the endpoint).
    /// </summary>
    public bool ServesLocalCopies(EndpointState state) => !state.Policy.HasTags || Invalidation.IsSynchronized;
}
