using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>
/// A request that found a flight in progress for its key: waits for its outcome (bounded by the wait timeout and its
/// own abort) and answers its own request from it, takes the flight over when chosen, or goes on alone.
/// </summary>
internal sealed class RequestFollower(RequestPath path, FlightLeader leader, StaleResponses stale)
{
    /// <summary>What a follower does after its wait.</summary>
    private enum Next
    {
        Done,
        RunOwn,
        Retry,

        /// <summary>
        /// The leader's response was computed from an input this request has another value of: the endpoint's key
        /// holds that input now, so the request tries again under its own key (with the others that share its value).
        /// </summary>
        Rekey,
    }

    /// <summary>
    /// Follows the flight joined; when it ends in a way that cannot answer this request (its leader's client went
    /// away), leads or follows the next flight for the key, and so on.
    /// </summary>
    public async Task FollowThenLeadAsync(
        HttpContext context, EndpointState state, string key, string[] tags, RequestFlight joined, ExecutionCounters counters)
    {
        while (true)
        {
            switch (await FollowAsync(context, state, joined, counters, canTakeOver: true).ConfigureAwait(false))
            {
                case Next.Done:
                    return;
                case Next.RunOwn:
                    await path.RunAloneAsync(context, counters).ConfigureAwait(false);
                    return;
                // (The same key again means an input past what a key learns: the request runs on its own.)
                case Next.Rekey when RequestKeyBuilder.TryBuild(context, state) is { } own && own != key:
                    key = own;
                    break;
                case Next.Rekey:
                    await path.RunAloneAsync(context, counters).ConfigureAwait(false);
                    return;
            }

            var mine = new RequestFlight(key, tags, state.Name);
            if (mine.TryLead(path.Calls, out joined))
            {
                await leader.LeadAsync(context, state, mine, counters).ConfigureAwait(false);
                return;
            }
        }
    }

    /// <summary>
    /// For a request that never leads (it has validators or a range): follows a flight in progress, else runs alone.
    /// </summary>
    public async Task FollowOnlyAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        if (path.Calls.TryFollow<FlightOutcome>(key, out var joined))
        {
            var next = await FollowAsync(context, state, (RequestFlight)joined, counters, canTakeOver: false).ConfigureAwait(false);
            if (next == Next.Done)
            {
                return;
            }
        }

        await path.RunAloneAsync(context, counters).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for a flight's outcome and answers this request from it. A follower that may take over stands in
    /// line for it; when the leader's client goes away and this one is chosen, it leads the same flight.
    /// </summary>
    private async Task<Next> FollowAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, bool canTakeOver)
    {
        var waitTimeout = path.WaitTimeout(state);
        var outcome = flight.Outcome;
        flight.AddFollower();
        path.Flights.Joined();
        var successor = canTakeOver ? flight.Enlist(context) : null;
        Task signal = successor is null ? outcome : Task.WhenAny(outcome, successor.Turn);

        // A plain GET (no validators, no range) may stream the leader's body as it is written.
        var bodyStarted = canTakeOver && HttpMethods.IsGet(context.Request.Method) ? flight.BodyStarted : null;
        var waitedForStart = bodyStarted is { IsCompleted: false };
        if (bodyStarted is not null)
        {
            signal = Task.WhenAny(signal, bodyStarted);
        }

        // Never throws: the leader's exception is rethrown below, apart from this wait's own timeout and abort.
        await signal.WaitAsync(waitTimeout, path.Time, context.RequestAborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!outcome.IsCompleted && successor is not { Turn.IsCompleted: true } && bodyStarted is not { IsCompleted: true })
        {
            var withdrawn = successor is null || flight.Withdraw(successor);
            if (context.RequestAborted.IsCancellationRequested)
            {
                if (!withdrawn)
                {
                    // Chosen just as this client left: pass the flight on rather than drop it.
                    path.HandOver(flight);
                }

                return Next.Done;
            }

            if (withdrawn)
            {
                if (stale.FindForError(context, state, flight.Key, out var slowFor) is { } slowStale)
                {
                    // A leader this slow is as good as failed for this client, when a stale response may stand in.
                    await stale.ServeOnErrorAsync(context, slowStale, slowFor, counters, ranEndpoint: false, failedStatus: null).ConfigureAwait(false);
                    return Next.Done;
                }

                CoalescingLog.FollowerTimedOut(path.Logger, state.Name, waitTimeout);
                return Next.RunOwn;
            }
        }

        if (successor is not null && !flight.Withdraw(successor))
        {
            CoalescingLog.TookOver(path.Logger, state.Name);
            await leader.LeadAsync(context, state, flight, counters).ConfigureAwait(false);
            return Next.Done;
        }

        // Streamed while the leader writes; also when it has just finished with a response too large to replay.
        if (bodyStarted is { IsCompleted: true } && !(outcome.IsCompletedSuccessfully && outcome.Result.Kind == FlightOutcomeKind.Shared) &&
            await StreamAsync(context, state, bodyStarted.Result, waitedForStart, counters).ConfigureAwait(false) is { } streamed)
        {
            return streamed;
        }

        FlightOutcome result;
        CapturedResponse? staleForError;
        TimeSpan staleFor;
        try
        {
            result = await outcome.ConfigureAwait(false);
        }
        catch when ((staleForError = stale.FindForError(context, state, flight.Key, out staleFor)) is not null)
        {
            await stale.ServeOnErrorAsync(context, staleForError, staleFor, counters, ranEndpoint: false, failedStatus: null).ConfigureAwait(false);
            return Next.Done;
        }
        catch
        {
            // The leader's exception, rethrown in this follower's pipeline; it counted once, as the leader's error.
            counters.Hit();
            throw;
        }

        if (result is { Kind: FlightOutcomeKind.Shared, Response.StatusCode: >= 500 } &&
            (staleForError = stale.FindForError(context, state, flight.Key, out staleFor)) is not null)
        {
            await stale.ServeOnErrorAsync(context, staleForError, staleFor, counters, ranEndpoint: false, result.Response.StatusCode).ConfigureAwait(false);
            return Next.Done;
        }

        if (result.Kind == FlightOutcomeKind.Shared && path.CanAnswer(result.Response!, context, state))
        {
            counters.Hit();
            await path.ReplayAsync(context, result.Response!, CacheStatus.Collapsed).ConfigureAwait(false);
            return Next.Done;
        }

        // A follower whose own client has gone neither retries nor runs: when a load balancer or client cuts many
        // connections at once, that would turn one aborted leader into a herd of wasted executions.
        if (context.RequestAborted.IsCancellationRequested)
        {
            return Next.Done;
        }

        if (result.Kind == FlightOutcomeKind.Shared && canTakeOver && result.Response!.CanAnswer(context))
        {
            // Only its inputs differ: the followers with this request's values go on together.
            return Next.Rekey;
        }

        return result.Kind == FlightOutcomeKind.LeaderAborted && canTakeOver ? Next.Retry : Next.RunOwn;
    }

    /// <summary>
    /// Answers this request with the leader's response as it is written: its status and headers now, its bytes as they
    /// come. A follower whose inputs differ from what the leader read so far, or that comes too late to read the body
    /// from its start, never starts; one whose response cannot be finished (the leader failed or went away, it fell too
    /// far behind, or the leader read an input later that this request has another value of) is aborted before it is
    /// whole (before the last byte of its <c>Content-Length</c>, or the final chunk), so its client sees a failed
    /// transfer, never a short response that looks whole.
    /// </summary>
    /// <returns>What comes next, or <see langword="null"/> when it could not attach (the outcome decides).</returns>
    private async Task<Next?> StreamAsync(HttpContext context, EndpointState state, FlightBody body, bool waitedForStart, ExecutionCounters counters)
    {
        var head = body.Head!;
        if (!path.CanAnswer(head, context, state))
        {
            return Next.Rekey;
        }

        if (!body.TryAttach(waitedForStart))
        {
            return null;
        }

        counters.Hit();
        counters.Streamed();
        path.SetCacheStatus(context, CacheStatus.Collapsed);
        head.WriteHead(context.Response);
        var aborted = context.RequestAborted;
        var holdBackFrom = head.HeadContentLength is { } length ? length - 1 : long.MaxValue;
        long position = 0;
        while (true)
        {
            (FlightBody.ReadStatus Status, ReadOnlyMemory<byte> Data) read;
            try
            {
                read = await body.ReadAsync(position, holdBackFrom, aborted).ConfigureAwait(false);
                if (read.Status == FlightBody.ReadStatus.Data)
                {
                    await context.Response.Body.WriteAsync(read.Data, aborted).ConfigureAwait(false);
                    position += read.Data.Length;
                    continue;
                }
            }
            catch (OperationCanceledException) when (aborted.IsCancellationRequested)
            {
                // This follower's own client went away.
                return Next.Done;
            }

            if (read.Status == FlightBody.ReadStatus.Completed && body.FinalInputs?.FindDifference(context) is not { } differs)
            {
                return Next.Done;
            }

            var why = read.Status switch
            {
                FlightBody.ReadStatus.Completed => "the leader read an input this request has another value of",
                FlightBody.ReadStatus.FellBehind => "this client fell too far behind the leader",
                _ => "the leader's response failed before its end",
            };
            CoalescingLog.StreamAborted(path.Logger, state.Name, position, why);
            context.Abort();
            return Next.Done;
        }
    }
}
