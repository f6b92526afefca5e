using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// One leader's run of the endpoint: its request, the flight it settles, its counters, the response copy in place of
/// the body feature (and the held body, when a stale response stands by), the headers set before it entered, the
/// invalidation seq read before it started and the recorder of what the endpoint reads. A struct: the unique-key path pays no allocation for it, and an awaiting
/// run carries it in its state machine.
/// </summary>
internal readonly struct LeaderRun(
    HttpContext context,
    EndpointState state,
    RequestFlight flight,
    ExecutionCounters counters,
    long? startSeq,
    IHttpResponseBodyFeature original,
    HoldingResponseBody? hold,
    KeyValuePair<string, StringValues>[]? entryHeaders,
    ResponseCapture capture,
    RequestInputs? inputs)
{
    public HttpContext Context { get; } = context;

    public EndpointState State { get; } = state;

    public RequestFlight Flight { get; } = flight;

    /// <summary>The counters of the execution, started.</summary>
    public ExecutionCounters Counters { get; } = counters;

    /// <summary>The invalidation seq read before the endpoint ran, when its result goes to the second level.</summary>
    public long? StartSeq { get; } = startSeq;

    /// <summary>The server's response body, put back once the endpoint ran.</summary>
    public IHttpResponseBodyFeature Original { get; } = original;

    /// <summary>The held-back response, when a stale one could stand in for a failure.</summary>
    public HoldingResponseBody? Hold { get; } = hold;

    /// <summary>Response headers set before the leader entered (they belong to its own request).</summary>
    public KeyValuePair<string, StringValues>[]? EntryHeaders { get; } = entryHeaders;

    public ResponseCapture Capture { get; } = capture;

    /// <summary>What the request's pipeline reads, recording while the endpoint runs (absent without the start-up filter).</summary>
    public RequestInputs? Inputs { get; } = inputs;
}
