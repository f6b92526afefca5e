using System.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>
/// Live counters of one endpoint and method (<c>GET /products/{id}</c>): the figures of <c>/_coalesce/stats</c>,
/// and the attributes its measurements carry on the meter.
/// </summary>
internal sealed class EndpointCounters(string method, string route, CoalescingMetrics? metrics)
{
    private IdempotencyCounters? _idempotency;

    /// <summary>Keyed requests of an idempotent endpoint; created when the first one arrives.</summary>
    public IdempotencyCounters Idempotency
    {
        get
        {
            if (Volatile.Read(ref _idempotency) is { } counters)
            {
                return counters;
            }

            Interlocked.CompareExchange(ref _idempotency, new IdempotencyCounters(this), null);
            return _idempotency;
        }
    }

    /// <summary>The idempotency counters, when the endpoint has seen a keyed request.</summary>
    public IdempotencyCounters? IdempotencyIfAny => Volatile.Read(ref _idempotency);

    public SharedCallCounters Flights { get; } = new();

    /// <summary>Stale responses served and background refreshes, for endpoints with stale windows.</summary>
    public StaleCounters Stale { get; } = new();

    /// <summary>What the endpoint reads outside its key (shared by its GET and HEAD counters).</summary>
    public EndpointInputs? Inputs { get; init; }

    /// <summary>Where measurements go; <see langword="null"/> for a registry built without a meter factory.</summary>
    public CoalescingMetrics? Metrics => metrics;

    public TagList Tags() => new()
    {
        { CoalescingMetrics.MethodTag, method },
        { CoalescingMetrics.RouteTag, route },
    };

    public TagList Tags(string result)
    {
        var tags = Tags();
        tags.Add(Diagnostics.CoalesceMeter.ResultTag, result);
        return tags;
    }
}
