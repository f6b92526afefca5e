using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>
/// One execution per key across instances (<see cref="IDistributedSingleFlight"/>, registered by a scale-out package):
/// the middleware side. A local leader that found nothing locally (nor in the second level) asks once; its local
/// followers wait with it, so each instance makes one remote wait per key. Owns the leases of the flights it leads.
/// </summary>
/// <remarks>
/// A leader that wins the lease runs the endpoint as usual; whatever its flight settles to is what the other
/// instances learn: a memoized response is stored in the second level, any other shared response is handed to
/// their waiters, a response that must not be shared makes them run their own (and pass the key through), and
/// anything else (an exception, an aborted or invalidated execution) releases the lease so a waiting instance leads.
/// A leader that waits answers itself and its followers from the other instance's result, or runs here when that
/// result can't be used, the wait timed out or the shared store can't say.
/// </remarks>
internal sealed class CrossInstanceLeader(RequestPath path, ResponseMemo memo)
{
    // Flights running under a lease, so that a follower taking one over (its leader's client left) keeps the lease.
    private readonly ConcurrentDictionary<RequestFlight, IDistributedLease> _leases = new();

    /// <summary>How the leader goes on after asking the other instances.</summary>
    public enum Next
    {
        /// <summary>Run the endpoint here as without scale-out (second-level store included).</summary>
        RunHere,

        /// <summary>Run the endpoint under the lease, whose completion shares (and stores) the result.</summary>
        Leased,

        /// <summary>This request (and the flight) has its answer, or its client left while waiting.</summary>
        Answered,
    }

    public async ValueTask<Next> LeadAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters)
    {
        if (_leases.ContainsKey(flight))
        {
            return Next.Leased;
        }

        var memoTtl = state.ReturnsOneShotResult ? null : state.Policy.MemoizeTtl;
        DistributedFlight remote;
        try
        {
            remote = await path.ScaleOut.AcrossInstances.LeadOrWaitAsync(
                flight.Key, flight.Tags, memoTtl is not null, path.WaitTimeout(state), context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // This client left while waiting for another instance: a local follower waits (or leads) in its place.
            path.HandOver(flight);
            return Next.Answered;
        }
        catch (Exception ex)
        {
            // The seam promises not to throw; if it does anyway, the endpoint runs as without it.
            CoalescingLog.SecondLevelFailed(path.Logger, ex, state.Name);
            return Next.RunHere;
        }

        switch (remote.Kind)
        {
            case DistributedFlightKind.Lead:
                _leases[flight] = remote.Lease!;

                // Another instance waiting counts as a follower: the response is then copied for it even when no local
                // request joins (and, on the unique-key path, nobody waits and nothing is copied).
                remote.Lease!.WhenWaitedFor(static f => ((RequestFlight)f!).AddFollower(), flight);
                _ = ShareAsync(state, flight, remote.Lease!);
                return Next.Leased;
            case DistributedFlightKind.Stored when memoTtl is { } ttl:
                // Read (and checked) as any second-level hit; when it can't answer after all, run here.
                return await memo.TryAnswerFromSecondLevelAsync(context, state, flight, counters, ttl).ConfigureAwait(false)
                    ? Next.Answered
                    : Next.RunHere;
            case DistributedFlightKind.Filled:
                return await AnswerFromOtherInstanceAsync(context, state, flight, counters, remote.Payload!).ConfigureAwait(false);
            case DistributedFlightKind.Pass:
                // Hit-for-pass across instances: run here, and (unless it was only too large to hand over) let the key
                // pass through here as on the instance that ran it.
                path.PassThrough.Mark(flight.Key, remote.PassThrough);
                CoalescingLog.NotShared(
                    path.Logger, state.Name,
                    remote.PassThrough > TimeSpan.Zero ? "another instance's response could not be shared" : "another instance's response was too large to hand over",
                    remote.PassThrough);
                return Next.RunHere;
            default:
                return Next.RunHere;
        }
    }

    private async ValueTask<Next> AnswerFromOtherInstanceAsync(
        HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, byte[] payload)
    {
        var response = CapturedResponseFormatter.TryDeserialize(payload, out var problem);
        if (response is null)
        {
            CoalescingLog.SecondLevelMalformed(path.Logger, state.Name, problem ?? "unknown");
            return Next.RunHere;
        }

        if (!path.CanAnswer(response, context, state))
        {
            return Next.RunHere;
        }

        counters.Hit();
        path.Settle(flight, FlightOutcome.Shared(response));
        await path.ReplayAsync(context, response, CacheStatus.Collapsed).ConfigureAwait(false);
        return Next.Answered;
    }

    /// <summary>Once the leased flight settles (on the thread pool, after its followers were released), completes the lease.</summary>
    private async Task ShareAsync(EndpointState state, RequestFlight flight, IDistributedLease lease)
    {
        await ((Task)flight.Outcome).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        _leases.TryRemove(flight, out _);
        DistributedCompletion completion;
        try
        {
            completion = CompletionOf(state, flight);
        }
        catch (Exception ex)
        {
            CoalescingLog.SecondLevelFailed(path.Logger, ex, state.Name);
            completion = DistributedCompletion.Release;
        }

        await lease.CompleteAsync(completion).ConfigureAwait(false);
    }

    private DistributedCompletion CompletionOf(EndpointState state, RequestFlight flight)
    {
        var settled = flight.Outcome;
        if (!settled.IsCompletedSuccessfully || flight.Invalidated)
        {
            // An exception is never shared, nor a result an invalidation reached: the next waiting instance leads.
            _ = settled.Exception; // (observed here too, in case no local follower rethrew it)
            return DistributedCompletion.Release;
        }

        var outcome = settled.Result;
        switch (outcome.Kind)
        {
            case FlightOutcomeKind.Shared:
                var response = outcome.Response!;
                Func<byte[]> render = () => CapturedResponseFormatter.Serialize(response);

                // Memoized here (the memo cache holds this very response) means it goes to the second level; any
                // other shared response goes to the waiting instances only.
                return state.Policy.MemoizeTtl is { } ttl && path.Cache.Holds(flight.Key, response)
                    ? new DistributedCompletion(DistributedCompletionKind.Store, render, ttl)
                    : new DistributedCompletion(DistributedCompletionKind.Fill, render);
            case FlightOutcomeKind.NotShareable:
                return new DistributedCompletion(DistributedCompletionKind.Pass, Duration: path.Options.PassThroughDuration);
            default:
                return DistributedCompletion.Release;
        }
    }
}
