using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>
/// Memoized responses: the app's <see cref="MemoCache"/> first, then the second level shared by the instances. Names
/// once what makes a leader keep its response, finds a kept one for a request, keeps a new one unless an invalidation
/// reached its flight, and stores it where the other instances find it.
/// </summary>
internal sealed class ResponseMemo(RequestPath path)
{
    /// <summary>Whether <paramref name="state"/>'s endpoint is memoized (its flights are watched for invalidations).</summary>
    public static bool Memoizes(EndpointState state) => state.Policy.MemoizeTtl is not null;

    /// <summary>
    /// Whether a leader of <paramref name="state"/>'s endpoint keeps what it renders: a memoized endpoint whose handler
    /// is not declared to return a stream or an async sequence.
    /// </summary>
    public static bool Keeps(EndpointState state) => state.Policy.MemoizeTtl is not null && !state.ReturnsOneShotResult;

    /// <summary>Whether a response kept here may answer requests of <paramref name="state"/>'s endpoint now.</summary>
    public bool MayAnswer(EndpointState state) => Memoizes(state) && path.ScaleOut.ServesLocalCopies(state);

    /// <summary>Whether a leader of <paramref name="state"/>'s endpoint asks the shared store before it runs.</summary>
    public bool AsksSharedStore(EndpointState state) =>
        (path.ScaleOut.HasSecondLevel && Keeps(state)) || path.ScaleOut.CoalescesAcrossInstances;

    /// <summary>
    /// A kept response that answers <paramref name="context"/>'s request (fresh, or without stale windows). The lookup
    /// is not counted on the cache: the request's outcome is (<see cref="ExecutionCounters"/>).
    /// </summary>
    public bool TryFind(HttpContext context, EndpointState state, string key, [NotNullWhen(true)] out CapturedResponse? response) =>
        path.Cache.TryGetUncounted<CapturedResponse>(key, out response) && path.CanAnswer(response, context, state);

    /// <summary>
    /// The same, without touching the entry's recency: for a leader whose flight started after its request looked, and
    /// which a flight that ended in between may have answered.
    /// </summary>
    public bool TryFindJustKept(HttpContext context, EndpointState state, string key, [NotNullWhen(true)] out CapturedResponse? response)
    {
        response = null;
        return MayAnswer(state) && path.Cache.TryPeek<CapturedResponse>(key, out response) && path.CanAnswer(response, context, state);
    }

    /// <summary>
    /// Keeps the response unless an invalidation reached the flight; one that arrives while it is being stored
    /// finds it stored (and removes it), or is found here afterwards (and the entry is removed again).
    /// </summary>
    /// <param name="state">The endpoint.</param>
    /// <param name="flight">The flight that rendered the response.</param>
    /// <param name="response">The response.</param>
    /// <param name="ttl">How long to keep it.</param>
    /// <param name="key">Where to keep it: the flight's key, unless the endpoint's key has just learned an input.</param>
    /// <returns>Whether the response was kept (and no invalidation reached the flight).</returns>
    public async Task<bool> KeepAsync(EndpointState state, RequestFlight flight, CapturedResponse response, TimeSpan ttl, string? key = null)
    {
        key ??= flight.Key;
        if (flight.Invalidated)
        {
            return false;
        }

        var cache = path.Cache;
        try
        {
            var policy = state.Policy;
            if (policy.HasStaleWindows)
            {
                cache.Store(key, response, ttl, flight.Tags, policy.StaleWhileRevalidate, policy.StaleIfError);
            }
            else
            {
                await cache.SetAsync(key, response, ttl, flight.Tags).ConfigureAwait(false);
            }

            if (flight.Invalidated && cache.TryPeek<CapturedResponse>(key, out var stored) && ReferenceEquals(stored, response))
            {
                // Housekeeping after an invalidation that was already published (or applied from another instance).
                await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => cache.DeleteAsync(key)).ConfigureAwait(false);
                return false;
            }

            return !flight.Invalidated;
        }
        catch (Exception ex)
        {
            // Keeping a copy is an optimisation: a failure must not cost anyone the response already produced.
            if (state.FirstTime(EndpointState.Failure.Memoize))
            {
                CoalescingLog.MemoizeFailed(path.Logger, ex, state.Name);
            }

            return false;
        }
    }

    /// <summary>Keeps a leader's response, then shares it, then stores it in the second level (after its followers go).</summary>
    public async Task KeepAndShareAsync(LeaderRun run, CapturedResponse response, TimeSpan ttl, string? key)
    {
        var kept = await KeepAsync(run.State, run.Flight, response, ttl, key).ConfigureAwait(false);
        run.Counters.Completed(failed: false);
        path.Settle(run.Flight, FlightOutcome.Shared(response));
        if (kept && run.StartSeq is { } seq)
        {
            // Bounded by the store's budget. The store refuses it if a tag was invalidated after the endpoint started.
            await StoreInSecondLevelAsync(run.State, run.Flight, response, ttl, seq, key ?? run.Flight.Key).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// On a local miss, the leader asks the second level once for the key. A hit is kept locally for the entry's
    /// remaining lifetime (unless an invalidation reached the flight meanwhile) and answers the leader and its
    /// followers as a local hit would.
    /// </summary>
    public async Task<bool> TryAnswerFromSecondLevelAsync(
        HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, TimeSpan memoTtl)
    {
        SecondLevelEntry? entry;
        try
        {
            entry = await path.ScaleOut.SecondLevel.TryGetAsync(flight.Key, flight.Tags, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The store promises not to throw; if it does anyway, the endpoint runs as without it.
            CoalescingLog.SecondLevelFailed(path.Logger, ex, state.Name);
            return false;
        }

        if (entry is not { } hit)
        {
            return false;
        }

        var response = CapturedResponseFormatter.TryDeserialize(hit.Payload, out var problem);
        if (response is null)
        {
            CoalescingLog.SecondLevelMalformed(path.Logger, state.Name, problem ?? "unknown");
            return false;
        }

        if (!path.CanAnswer(response, context, state))
        {
            return false;
        }

        var ttl = hit.RemainingTimeToLive < memoTtl ? hit.RemainingTimeToLive : memoTtl;
        if (ttl > TimeSpan.Zero)
        {
            await KeepAsync(state, flight, response, ttl).ConfigureAwait(false);
        }

        counters.Hit();
        path.Settle(flight, FlightOutcome.Shared(response));
        await path.ReplayAsync(context, response, CacheStatus.Hit, stored: true).ConfigureAwait(false);
        return true;
    }

    private async Task StoreInSecondLevelAsync(EndpointState state, RequestFlight flight, CapturedResponse response, TimeSpan ttl, long startSeq, string key)
    {
        if (flight.Invalidated)
        {
            return;
        }

        try
        {
            var payload = CapturedResponseFormatter.Serialize(response);
            await path.ScaleOut.SecondLevel.TrySetAsync(key, payload, ttl, flight.Tags, startSeq, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            CoalescingLog.SecondLevelFailed(path.Logger, ex, state.Name);
        }
    }
}
