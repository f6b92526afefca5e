using System.Diagnostics;

namespace Coalesce.AspNetCore;

/// <summary>
/// Counts one request's outcome, once and only here: in its endpoint's figures of <c>/_coalesce/stats</c> (the
/// all-requests figures are their sum) as exactly one of memo hit, collapsed, stale answer, miss or bypass; in the memo
/// cache's hits and misses when the request looked there (a hit when the memo answered it, a miss when it then led an
/// execution; a follower or a request that ran alone is neither, however often it looked); and once on the meter with
/// its <c>coalesce.result</c> and durations. Created when the request reaches coalescing (the start of a follower's
/// wait). A mutable struct on purpose, so counting allocates nothing: call <see cref="LookedInMemo"/> before passing it
/// on, and <see cref="Started"/> or <see cref="StartedAlone"/> and then <see cref="Completed"/> on the same variable (an
/// async method's parameter is one), since the execution's start time is kept in it.
/// </summary>
internal struct ExecutionCounters(EndpointCounters endpoint)
{
    // The clock is read only for a histogram someone listens to (0: not read, and not recorded).
    private readonly long _arrived = endpoint.Metrics is { MeasuresWaits: true } ? Stopwatch.GetTimestamp() : 0;
    private long _started;
    private bool _alone;
    private bool _countedActive;
    private bool _lookedInMemo;

    /// <summary>The request looked for a memoized response: its outcome also counts as the memo cache's hit or miss.</summary>
    public void LookedInMemo() => _lookedInMemo = true;

    /// <summary>Answered from the memo cache.</summary>
    public readonly void Memoized()
    {
        endpoint.MemoHit();
        endpoint.Cache?.CountLookup(hit: true);
        endpoint.Metrics?.ServerAnswered(endpoint, CoalescingMetrics.Hit, _arrived);
    }

    /// <summary>
    /// Answered with a memoized response past its time to live: while a refresh runs, or instead of a failure. A
    /// request that also ran the endpoint (a leader whose execution failed) counted that as its outcome already.
    /// </summary>
    public readonly void ServedStale(bool onError, bool ranEndpoint)
    {
        endpoint.Stale.Served(onError);
        if (!ranEndpoint)
        {
            endpoint.StaleAnswer();
            endpoint.Metrics?.ServerAnswered(endpoint, onError ? CoalescingMetrics.StaleIfError : CoalescingMetrics.Stale, _arrived);
        }
    }

    /// <summary>Of the requests answered by another's execution, one that streamed its body as it was written.</summary>
    public readonly void Streamed() => endpoint.Streamed();

    /// <summary>Answered by another request's execution: its response, or its exception.</summary>
    public readonly void Hit()
    {
        endpoint.CollapsedHit();
        endpoint.Metrics?.ServerAnswered(endpoint, CoalescingMetrics.Shared, _arrived);
    }

    /// <summary>Runs the endpoint for a flight others may share (a miss).</summary>
    public void Started() => Start(alone: false);

    /// <summary>Runs the endpoint for this request alone (a bypass).</summary>
    public void StartedAlone() => Start(alone: true);

    public readonly void Completed(bool failed)
    {
        endpoint.Completed(failed);
        endpoint.Metrics?.ServerCompleted(endpoint, _alone ? CoalescingMetrics.Bypass : CoalescingMetrics.Miss, _started, failed, _countedActive);
    }

    private void Start(bool alone)
    {
        _alone = alone;
        var metrics = endpoint.Metrics;
        _started = metrics is { MeasuresExecutions: true } ? Stopwatch.GetTimestamp() : 0;
        endpoint.Started(alone);
        if (_lookedInMemo && !alone)
        {
            endpoint.Cache?.CountLookup(hit: false);
        }

        _countedActive = metrics?.ServerStarted(endpoint) ?? false;
    }
}
