using System.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>
/// Counts one request's outcome: in the all-requests and the endpoint's figures of <c>/_coalesce/stats</c>, and
/// once on the meter with its <c>coalesce.result</c> and durations. Created when the request reaches coalescing
/// (the start of a follower's wait). A mutable struct on purpose, so counting allocates nothing: call
/// <see cref="Started"/> or <see cref="StartedAlone"/> and then <see cref="Completed"/> on the same variable (an
/// async method's parameter is one), since the execution's start time is kept in it.
/// </summary>
internal struct ExecutionCounters(SharedCallCounters requests, EndpointCounters endpoint)
{
    private readonly long _arrived = Stopwatch.GetTimestamp();
    private long _started;
    private bool _alone;

    /// <summary>Answered from the memo cache.</summary>
    public readonly void Memoized()
    {
        requests.Hit();
        endpoint.Flights.Hit();
        endpoint.Metrics?.ServerAnswered(endpoint, CoalescingMetrics.Hit, _arrived);
    }

    /// <summary>
    /// Answered with a memoized response past its time to live: while a refresh runs, or instead of a failure. A
    /// request that also ran the endpoint (a leader whose execution failed) counted that as a miss already.
    /// </summary>
    public readonly void ServedStale(bool onError, bool ranEndpoint)
    {
        endpoint.Stale.Served(onError);
        if (!ranEndpoint)
        {
            requests.Hit();
            endpoint.Flights.Hit();
            endpoint.Metrics?.ServerAnswered(endpoint, onError ? CoalescingMetrics.StaleIfError : CoalescingMetrics.Stale, _arrived);
        }
    }

    /// <summary>Answered by another request's execution: its response, or its exception.</summary>
    public readonly void Hit()
    {
        requests.Hit();
        endpoint.Flights.Hit();
        endpoint.Metrics?.ServerAnswered(endpoint, CoalescingMetrics.Shared, _arrived);
    }

    /// <summary>Runs the endpoint for a flight others may share (a miss).</summary>
    public void Started() => Start(alone: false);

    /// <summary>Runs the endpoint for this request alone (a bypass).</summary>
    public void StartedAlone() => Start(alone: true);

    public readonly void Completed(bool failed)
    {
        requests.Completed(failed);
        endpoint.Flights.Completed(failed);
        endpoint.Metrics?.ServerCompleted(endpoint, _alone ? CoalescingMetrics.Bypass : CoalescingMetrics.Miss, _started, failed);
    }

    private void Start(bool alone)
    {
        _alone = alone;
        _started = Stopwatch.GetTimestamp();
        requests.Started();
        endpoint.Flights.Started();
        endpoint.Metrics?.ServerStarted(endpoint);
    }
}
