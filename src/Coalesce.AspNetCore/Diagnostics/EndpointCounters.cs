using System.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>
/// Live counters of one endpoint and method (<c>GET /products/{id}</c>): the figures of <c>/_coalesce/stats</c>,
/// and the attributes its measurements carry on the meter. Each request is counted once, by
/// <see cref="ExecutionCounters"/>, in exactly one of the outcome counters; they are striped, so counting takes no
/// lock and allocates nothing.
/// </summary>
internal sealed class EndpointCounters(string method, string route, CoalescingMetrics? metrics, MemoCache? cache)
{
    private readonly StripedCounter _memoHits = new();
    private readonly StripedCounter _collapsed = new();
    private readonly StripedCounter _staleAnswers = new();
    private readonly StripedCounter _misses = new();
    private readonly StripedCounter _bypasses = new();
    private readonly StripedCounter _errors = new();
    private readonly StripedCounter _active = new();
    private readonly StripedCounter _streamed = new();

    public string Method => method;

    /// <summary>The route pattern (or the display name of an endpoint without one).</summary>
    public string Route => route;

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

    /// <summary>Stale responses served and background refreshes, for endpoints with stale windows.</summary>
    public StaleCounters Stale { get; } = new();

    /// <summary>What the endpoint reads outside its key (shared by its GET and HEAD counters).</summary>
    public EndpointInputs? Inputs { get; init; }

    /// <summary>Where measurements go; <see langword="null"/> for a registry built without a meter factory.</summary>
    public CoalescingMetrics? Metrics => metrics;

    /// <summary>The app's memo cache, whose hits and misses the request path counts once per request.</summary>
    public MemoCache? Cache => cache;

    /// <summary>The samples behind the per-second rates over the last minute.</summary>
    public OutcomeHistory History { get; } = new();

    public void MemoHit() => _memoHits.Increment();

    public void CollapsedHit() => _collapsed.Increment();

    /// <summary>A collapsed follower that streamed the leader's body as it was written (counted in collapsed too).</summary>
    public void Streamed() => _streamed.Increment();

    /// <summary>Collapsed followers that streamed the leader's body as it was written.</summary>
    public long StreamedCount => _streamed.Value;

    public void StaleAnswer() => _staleAnswers.Increment();

    public void Started(bool alone)
    {
        (alone ? _bypasses : _misses).Increment();
        _active.Increment();
    }

    public void Completed(bool failed)
    {
        if (failed)
        {
            _errors.Increment();
        }

        _active.Decrement();
    }

    /// <summary>Reads each counter once. Active is never negative, even read between a start and its end on two cores.</summary>
    public OutcomeTotals Totals() => new(
        _memoHits.Value, _collapsed.Value, _staleAnswers.Value, _misses.Value, _bypasses.Value, _errors.Value, Math.Max(0, _active.Value));

    /// <summary>Sets every count but the executions in progress to zero.</summary>
    public void Reset()
    {
        _memoHits.Reset();
        _collapsed.Reset();
        _streamed.Reset();
        _staleAnswers.Reset();
        _misses.Reset();
        _bypasses.Reset();
        _errors.Reset();
        Stale.Reset();
        Inputs?.ResetRefusals();
        History.Clear();
    }

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
