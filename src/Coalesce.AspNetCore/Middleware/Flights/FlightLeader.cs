using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// Leads a flight: asks what is stored and the other instances, else runs the endpoint with a
/// <see cref="ResponseCapture"/> in place of the body feature — bytes stream to the leader's own client and a bounded
/// copy is kept — and settles the flight: shared, not shareable, failed, or handed over when its client goes away.
/// </summary>
internal sealed class FlightLeader : ResponseCapture.IFanOutHost
{
    private readonly RequestPath _path;
    private readonly ResponseMemo _memo;
    private readonly StaleResponses _stale;
    private readonly CrossInstanceLeader _acrossInstances;
    private readonly Action<object> _releaseStreaming;

    public FlightLeader(RequestPath path, ResponseMemo memo, StaleResponses stale, CrossInstanceLeader acrossInstances)
    {
        _path = path;
        _memo = memo;
        _stale = stale;
        _acrossInstances = acrossInstances;
        _releaseStreaming = ReleaseStreaming;
    }

    /// <summary>
    /// Runs the endpoint for <paramref name="flight"/>, streaming to this request's client while keeping a copy,
    /// and settles the flight.
    /// </summary>
    public Task LeadAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters)
    {
        if (ResponseMemo.Memoizes(state) || flight.Tags.Length > 0)
        {
            // Before the endpoint (or the second level) reads anything, so an invalidation from now on reaches this flight.
            _path.Flights.Watch(flight);
        }

        // The request looked for a memoized response before it joined; a flight that ended in between may have just
        // stored one, and running the endpoint again for it would be a second execution for one miss.
        if (_memo.TryFindJustKept(context, state, flight.Key, out var justKept))
        {
            counters.Memoized();
            _path.Settle(flight, FlightOutcome.Shared(justKept));
            return _path.ReplayAsync(context, justKept, CacheStatus.Hit, stored: true);
        }

        return _memo.AsksSharedStore(state)
            ? LeadThroughSharedStoreAsync(context, state, flight, counters)
            : RunEndpointAsync(context, state, flight, counters, startSeq: null);
    }

    /// <summary>A leader on an app with a second level or across-instances coalescing: asks them first.</summary>
    private async Task LeadThroughSharedStoreAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters)
    {
        var scaleOut = _path.ScaleOut;
        long? startSeq = null;
        if (scaleOut.HasSecondLevel && ResponseMemo.Keeps(state))
        {
            if (await _memo.TryAnswerFromSecondLevelAsync(context, state, flight, counters, state.Policy.MemoizeTtl!.Value).ConfigureAwait(false))
            {
                return;
            }

            // Read before the endpoint runs: its result is valid in the second level only if none of its tags was
            // invalidated after this.
            // (Across instances, the lease comes with the seq: no read of its own. Should the instance run here after
            // all, the shared store could not answer, and the result is not stored there.)
            startSeq = scaleOut.CoalescesAcrossInstances
                ? null
                : await scaleOut.Invalidation.ReadSeqAsync(CancellationToken.None).ConfigureAwait(false);
        }

        // Across instances: another instance's result answers, or this one runs under a lease, whose completion stores
        // and shares the result in place of the second-level store.
        var next = scaleOut.CoalescesAcrossInstances
            ? await _acrossInstances.LeadAsync(context, state, flight, counters).ConfigureAwait(false)
            : CrossInstanceLeader.Next.RunHere;
        if (next == CrossInstanceLeader.Next.Answered)
        {
            return;
        }

        await RunEndpointAsync(context, state, flight, counters, next == CrossInstanceLeader.Next.Leased ? null : startSeq).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the endpoint with the response copy in place. Synchronous when the endpoint completes synchronously and
    /// no stale response stands by (the common case for small responses); otherwise <see cref="AwaitEndpointAsync"/>
    /// finishes the run.
    /// </summary>
    private Task RunEndpointAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, long? startSeq)
    {
        counters.Started();

        _path.SetCacheStatus(context, CacheStatus.Miss);

        // When a stale response could stand in for a failure, the leader's own response is held back until the
        // endpoint has finished, so an exception or a 5xx can still be replaced for its client too.
        var original = context.Features.Require<IHttpResponseBodyFeature>();
        var hold = _stale.FindForError(context, state, flight.Key, out _) is null
            ? null
            : new HoldingResponseBody(original, _path.Options.MaxBufferedBodyBytes);
        var entryHeaders = CapturedResponseFactory.SnapshotHeaders(context.Response.Headers);
        var capture = new ResponseCapture(hold ?? original, context.Response.Headers, _path.Options.MaxBufferedBodyBytes, _releaseStreaming, flight)
        {
            // Followers stream the body as it is written; not while it is held back for a stale response.
            FanOutHost = hold is null ? this : null,
            Context = context,
            Flight = flight,
            State = state,
            EntryHeaders = entryHeaders,
        };
        context.Features.Replace<IHttpResponseBodyFeature>(capture);
        if (ResponseMemo.Memoizes(state))
        {
            // Only the replayability filter of memoized endpoints looks for it.
            context.Features.Replace(capture);
        }

        var inputs = RequestInputs.Of(context);
        var run = new LeaderRun(context, state, flight, counters, startSeq, original, hold, entryHeaders, capture, inputs);
        Task endpoint;
        inputs?.StartRecording();
        try
        {
            endpoint = _path.Next(context);
        }
        catch (Exception ex)
        {
            // Judged as if the endpoint's task had failed with it, below.
            endpoint = Task.FromException(ex);
        }

        if (hold is not null || !endpoint.IsCompletedSuccessfully)
        {
            return AwaitEndpointAsync(run, endpoint);
        }

        using (capture)
        {
            inputs?.StopRecording();
            RestoreBody(run);
            capture.Finish();
            _stale.RecordStatus(context, state);

            // (What it keeps, it copies before it returns.)
            return SettleAsync(run);
        }
    }

    /// <summary>The endpoint's run, for one still in progress, failed, or whose response is held back.</summary>
    private async Task AwaitEndpointAsync(LeaderRun run, Task endpoint)
    {
        var (context, state, flight, counters, hold) = (run.Context, run.State, run.Flight, run.Counters, run.Hold);
        using var holding = hold;
        using var copying = run.Capture;
        Exception? replaceable = null;
        try
        {
            await endpoint.ConfigureAwait(false);
        }
        catch when (context.RequestAborted.IsCancellationRequested && (hold is null || !StaleResponses.IsTimedOut(context)))
        {
            run.Capture.FanOut?.Fail();
            counters.Completed(failed: false);
            _path.HandOver(flight);
            throw;
        }
        catch (Exception ex) when (hold is { Released: false } && !context.Response.HasStarted)
        {
            replaceable = ex;
        }
        catch (Exception ex)
        {
            run.Capture.FanOut?.Fail();
            counters.Completed(failed: true);
            _stale.RecordHealth(state, failed: true, ex.GetType().Name, ex);
            _path.Settle(flight, outcome: null, ex);
            throw;
        }
        finally
        {
            run.Inputs?.StopRecording();
            RestoreBody(run);
        }

        if (replaceable is not null)
        {
            counters.Completed(failed: true);
            _stale.RecordHealth(state, failed: true, StaleResponses.IsTimedOut(context) ? "request timeout" : replaceable.GetType().Name, replaceable);
            _path.Settle(flight, outcome: null, replaceable);
            var stale = _stale.FindForError(context, state, flight.Key, out var staleFor);
            if (stale is null)
            {
                // Invalidated while the endpoint ran: the error goes through after all.
                ExceptionDispatchInfo.Throw(replaceable);
                return;
            }

            StaleResponses.ResetResponse(context, run.EntryHeaders);
            await _stale.ServeOnErrorAsync(context, stale, staleFor, counters, ranEndpoint: true, failedStatus: null).ConfigureAwait(false);
            return;
        }

        run.Capture.Finish();
        CapturedResponse? replacement = null;
        var replacementStale = TimeSpan.Zero;
        if (hold is not null)
        {
            if (context.Response.StatusCode >= 500 && !hold.Released && !context.Response.HasStarted &&
                !context.RequestAborted.IsCancellationRequested)
            {
                replacement = _stale.FindForError(context, state, flight.Key, out replacementStale);
            }

            if (replacement is null)
            {
                await hold.CommitAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }

        var status = context.Response.StatusCode;
        _stale.RecordStatus(context, state);
        await SettleAsync(run).ConfigureAwait(false);
        if (replacement is not null)
        {
            // The followers were given the 5xx; each looks for the stale response on its own, as this client does.
            hold!.Discard();
            StaleResponses.ResetResponse(context, run.EntryHeaders);
            await _stale.ServeOnErrorAsync(context, replacement, replacementStale, counters, ranEndpoint: true, status).ConfigureAwait(false);
        }
    }

    /// <summary>Puts the server's response body back after the endpoint ran.</summary>
    private static void RestoreBody(LeaderRun run)
    {
        run.Context.Features.Replace(run.Original);
        if (ResponseMemo.Memoizes(run.State))
        {
            run.Context.Features.Replace<ResponseCapture>(null);
        }
    }

    /// <summary>
    /// After the endpoint ran to the end for a flight: judges, shares and keeps what it produced. Synchronous unless
    /// there is something to keep.
    /// </summary>
    private Task SettleAsync(LeaderRun run)
    {
        var (context, state, flight, capture) = (run.Context, run.State, run.Flight, run.Capture);
        if (capture.FanOut is { } body)
        {
            EndFanOut(context, state, capture, body, run.Inputs);
        }

        if (capture.Streaming || (!ResponseMemo.Memoizes(state) && !flight.HasFollowers))
        {
            // Streaming: the followers were released at its first byte. Otherwise the common unique-key case:
            // nobody waits, so don't judge or build a copy nobody will replay (nor ask whether the client is still
            // there, which costs Kestrel a lock: a follower that joins now runs its own request either way).
            run.Counters.Completed(failed: false);
            _path.Settle(flight, FlightOutcome.NotCaptured);
            return Task.CompletedTask;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            run.Counters.Completed(failed: false);
            _path.HandOver(flight);
            return Task.CompletedTask;
        }

        var options = _path.Options;
        var notShareable = Shareability.WhyNotShareable(context, state, capture, options.MaxBufferedBodyBytes);
        if (notShareable is not null)
        {
            _path.PassThrough.Mark(flight.Key, options.PassThroughDuration);
            CoalescingLog.NotShared(_path.Logger, state.Name, notShareable, options.PassThroughDuration);
            run.Counters.Completed(failed: false);
            _path.Settle(flight, FlightOutcome.NotShareable);
            return Task.CompletedTask;
        }

        // What the endpoint read outside its key travels with the response; the endpoint's key holds it from now on.
        var inputs = run.Inputs?.Collect(context, state);
        string? keepUnder = null;
        if (inputs is not null && state.Inputs.Learn(inputs, _path.Logger))
        {
            // Kept where the next request like this one looks for it: under the key that holds the inputs now.
            keepUnder = RequestKeyBuilder.TryBuild(context, state);
        }

        var response = CapturedResponseFactory.Capture(context, capture, run.EntryHeaders, _path.Time.GetUtcNow(), inputs);
        if (ResponseMemo.Keeps(state) && Shareability.IsMemoizable(context, capture))
        {
            return _memo.KeepAndShareAsync(run, response, state.Policy.MemoizeTtl!.Value, keepUnder);
        }

        run.Counters.Completed(failed: false);
        _path.Settle(flight, FlightOutcome.Shared(response));
        return Task.CompletedTask;
    }

    /// <summary>
    /// At the leader's first output, or its first write after a follower joined: streams its body to followers when any
    /// waits for it.
    /// </summary>
    FlightBody? ResponseCapture.IFanOutHost.BeginFanOut(ResponseCapture capture) =>
        capture.Flight!.WantsBody && HttpMethods.IsGet(capture.Context!.Request.Method)
            ? new FlightBody(_path.Options.MaxBufferedBodyBytes, _path.Options.MaxFollowerLagBytes)
            : null;

    /// <summary>
    /// The leader's response has started, its headers final: when they may answer other requests, the followers
    /// waiting get them and start streaming the body; otherwise they wait for the outcome as without streaming.
    /// </summary>
    void ResponseCapture.IFanOutHost.ResponseStarted(ResponseCapture capture)
    {
        var (context, state, body) = (capture.Context!, capture.State!, capture.FanOut!);
        if (Shareability.WhyHeadNotShareable(context, state, capture) is not null)
        {
            body.Fail();
            capture.StopFanOut();
            return;
        }

        // What the endpoint read so far outside its key; a follower with other values of these never starts streaming.
        var inputs = RequestInputs.Of(context)?.Collect(context, state);
        body.Head = CapturedResponseFactory.CaptureHead(context, capture, capture.EntryHeaders, inputs);
        capture.Flight!.StartBody(body);
    }

    /// <summary>
    /// The leader's run ended: the followers streaming its body complete theirs, or end as failed when the body is not
    /// whole (its client went away, or it is shorter than its <c>Content-Length</c>).
    /// </summary>
    private static void EndFanOut(HttpContext context, EndpointState state, ResponseCapture capture, FlightBody body, RequestInputs? inputs)
    {
        var response = context.Response;
        var unfinished = response.ContentLength is { } length && length != body.Length &&
                         StringValues.IsNullOrEmpty(capture.ContentEncoding) == StringValues.IsNullOrEmpty(response.Headers.ContentEncoding);
        if (context.RequestAborted.IsCancellationRequested || unfinished)
        {
            body.Fail();
        }
        else
        {
            body.Complete(inputs?.Collect(context, state));
        }
    }

    /// <summary>A leader showed it streams: its followers go their own way at once, and so do new arrivals for a while.</summary>
    private void ReleaseStreaming(object state)
    {
        var flight = (RequestFlight)state;
        _path.PassThrough.Mark(flight.Key, _path.Options.PassThroughDuration);
        CoalescingLog.NotShared(_path.Logger, flight.EndpointName, "it streams", _path.Options.PassThroughDuration);
        flight.TrySucceed(FlightOutcome.NotShareable);
    }
}
