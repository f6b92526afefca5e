using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// Request coalescing: while a leader request runs for a key, identical requests (followers) wait for its
/// response and replay it instead of running the endpoint again. Memoized endpoints keep that response for
/// their TTL. ARCHITECTURE.md, "The request path", has the rules this follows.
/// </summary>
/// <remarks>
/// <para>
/// The rule behind every decision: each client gets exactly the response its own request would get without
/// Coalesce. The shared execution is always unconditional and unranged; a request with validators or a
/// <c>Range</c> never leads one, but may be answered from one (and from a memoized response), its validators and
/// range applied for it. A request for an event stream is never coalesced; a response that streams releases its
/// followers at its first byte and is never kept.
/// </para>
/// <para>
/// The leader's response streams to its own client as usual; a copy up to
/// <see cref="RequestCoalescingOptions.MaxBufferedBodyBytes"/> is kept for its followers. A response that sets a
/// cookie, overflows that limit, was not finished, is partial, varies on a header the key doesn't hold or streams
/// is never shared: its followers run their own requests and the key passes through for a while.
/// </para>
/// <para>
/// If the leader's client goes away, exactly one waiting follower takes over and runs for the same flight. If
/// the leader throws, every follower's pipeline sees the same exception. A follower waits at most the wait
/// timeout, then runs on its own. An invalidation covers flights in progress: they keep nothing, and requests
/// that arrive after it start a fresh flight.
/// </para>
/// </remarks>
internal sealed partial class RequestCoalescingMiddleware
{
    private const string CacheStatusName = "Coalesce";

    private readonly RequestDelegate _next;
    private readonly RequestCoalescingOptions _options;
    private readonly CoalescingStatsRegistry _stats;
    private readonly MemoCache _cache;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RequestFlights _requestFlights;
    private readonly HybridCacheTagInvalidator _hybridCache;
    private readonly SharedCall _flights;
    private readonly PassThroughKeys _passThrough;
    private readonly Action<object> _releaseStreaming;
    private readonly ConcurrentDictionary<Endpoint, EndpointState> _endpoints = new();

    // The scale-out seams: registered only by a scale-out package (AddStackExchangeRedisCoalescing), null otherwise.
    private readonly ISecondLevelStore? _secondLevel;
    private readonly IDistributedInvalidation? _distributed;

    // Background refreshes of stale responses run in their own scope, until the app stops.
    private readonly IServiceScopeFactory _scopes;
    private readonly CancellationToken _stopping;
    private readonly IHttpContextAccessor? _httpContextAccessor;
    private int _warnedAboutRouting;

    public RequestCoalescingMiddleware(
        RequestDelegate next,
        IOptions<RequestCoalescingOptions> options,
        CoalescingStatsRegistry stats,
        RequestFlights flights,
        MemoCache cache,
        TimeProvider time,
        ILogger<RequestCoalescingMiddleware> logger,
        HybridCacheTagInvalidator hybridCache,
        IServiceProvider services)
    {
        _next = next;
        _options = options.Value;
        _stats = stats;
        _requestFlights = flights;
        _flights = flights.Calls;
        _cache = cache;
        _time = time;
        _logger = logger;
        _passThrough = new PassThroughKeys(time);
        _hybridCache = hybridCache;
        _releaseStreaming = ReleaseStreaming;
        _secondLevel = services.GetService(typeof(ISecondLevelStore)) as ISecondLevelStore;
        _distributed = services.GetService(typeof(IDistributedInvalidation)) as IDistributedInvalidation;
        _scopes = services.GetRequiredService<IServiceScopeFactory>();
        _stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        _httpContextAccessor = services.GetService<IHttpContextAccessor>();
        _acrossInstances = services.GetService(typeof(IDistributedSingleFlight)) is IDistributedSingleFlight { Enabled: true } across ? across : null;
    }

    /// <summary>What a follower does after its wait.</summary>
    private enum FollowerNext
    {
        Done,
        RunOwn,
        Retry,
    }

    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return Volatile.Read(ref _warnedAboutRouting) == 0 ? PassThroughWatchingRoutingAsync(context) : _next(context);
        }

        var state = _endpoints.GetOrAdd(endpoint, static (e, self) => self.CreateState(e), this);
        if (state.InvalidatesTags.Length > 0)
        {
            InvalidateOnSuccess(context, state);
        }

        if (!state.Enabled || !IsEligible(context))
        {
            return Bypass(context);
        }

        return CoalesceAsync(context, state);
    }

    private EndpointState CreateState(Endpoint endpoint)
    {
        var state = new EndpointState(endpoint, _options, _stats);
        if (state.Problem is { } problem && state.FirstTime(EndpointState.Failure.Misconfigured))
        {
            CoalescingLog.EndpointMisconfigured(_logger, state.Name, problem);
        }

        return state;
    }

    internal static bool IsEligible(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0 ||
            context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            return false;
        }

        return request.Headers.Upgrade.Count == 0 &&
               context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest != true &&
               context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect != true &&
               !AcceptsEventStream(request.Headers.Accept);
    }

    /// <summary>A client asking for an event stream wants a stream of its own; nobody should wait on it.</summary>
    private static bool AcceptsEventStream(StringValues accept)
    {
        foreach (var value in accept)
        {
            if (value is not null && value.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private Task Bypass(HttpContext context)
    {
        SetCacheStatus(context, CacheStatus.Bypass);

        return _next(context);
    }

    /// <remarks>
    /// Synchronous up to the first thing that waits (a replay, the endpoint, a leader's response), so the common
    /// requests (a unique key that leads, a memoized hit) run through no async state machine of their own here.
    /// </remarks>
    private Task CoalesceAsync(HttpContext context, EndpointState state)
    {
        var counters = new ExecutionCounters(state.CountersFor(context.Request.Method));
        string key;
        try
        {
            key = RequestKeyBuilder.Build(context, state);
        }
        catch (InvalidOperationException ex)
        {
            // A key function that throws must not cost the client its response: this request simply runs alone.
            if (state.FirstTime(EndpointState.Failure.KeyFunction))
            {
                CoalescingLog.KeyFunctionFailed(_logger, ex, state.Name);
            }

            return RunOwnAsync(context, counters);
        }

        // (While this instance does not follow other instances' invalidations, a tagged local entry may be stale:
        // it is not served; the leader asks the second level, which is authoritative, or runs the endpoint.)
        if (state.Policy.MemoizeTtl is not null && (_distributed is null || !state.Policy.HasTags || _distributed.IsSynchronized))
        {
            if (state.Policy.HasStaleWindows)
            {
                return AnswerFromStoredOrRunAsync(context, state, key, counters);
            }

            if (_cache.TryGet<CapturedResponse>(key, out var memoized) && memoized.CanAnswer(context.Request))
            {
                counters.Memoized();
                return ReplayAsync(context, memoized, CacheStatus.Hit, stored: true);
            }
        }

        return RunAsync(context, state, key, counters);
    }

    private async Task AnswerFromStoredOrRunAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        if (!await TryAnswerFromStoredAsync(context, state, key, counters).ConfigureAwait(false))
        {
            await RunAsync(context, state, key, counters).ConfigureAwait(false);
        }
    }

    /// <summary>Nothing stored answered the request: it leads a flight, follows one, or runs on its own.</summary>
    private Task RunAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        // A request with validators or a range would get its own kind of answer from the endpoint, which nobody
        // else could use: it never leads, but a shared execution already running can answer it.
        var request = context.Request;
        if (request.Headers.Range.Count > 0 || HttpPreconditions.IsConditional(request.Headers))
        {
            return FollowOnlyAsync(context, state, key, counters);
        }

        if (_passThrough.IsPassingThrough(key))
        {
            return RunOwnAsync(context, counters);
        }

        string[] tags = [];
        if (state.Policy.HasTags)
        {
            try
            {
                tags = state.Policy.ResolveTags(context);
            }
            catch (Exception ex)
            {
                // Without its tags, a shared or kept response could outlive a write it depends on: run alone.
                if (state.FirstTime(EndpointState.Failure.Tags))
                {
                    CoalescingLog.TagsFailed(_logger, ex, state.Name);
                }

                return RunOwnAsync(context, counters);
            }
        }

        var mine = new RequestFlight(key, tags, state.Name);
        return mine.TryLead(_flights, out var joined)
            ? LeadAsync(context, state, mine, counters)
            : FollowThenLeadAsync(context, state, key, tags, joined, counters);
    }

    /// <summary>
    /// Follows the flight joined; when it ends in a way that cannot answer this request (its leader's client went
    /// away), leads or follows the next flight for the key, and so on.
    /// </summary>
    private async Task FollowThenLeadAsync(
        HttpContext context, EndpointState state, string key, string[] tags, RequestFlight joined, ExecutionCounters counters)
    {
        var waitTimeout = state.Policy.WaitTimeout ?? _options.WaitTimeout;
        while (true)
        {
            switch (await FollowAsync(context, state, joined, waitTimeout, counters, canTakeOver: true).ConfigureAwait(false))
            {
                case FollowerNext.Done:
                    return;
                case FollowerNext.RunOwn:
                    await RunOwnAsync(context, counters).ConfigureAwait(false);
                    return;
            }

            var mine = new RequestFlight(key, tags, state.Name);
            if (mine.TryLead(_flights, out joined))
            {
                await LeadAsync(context, state, mine, counters).ConfigureAwait(false);
                return;
            }
        }
    }

    private async Task FollowOnlyAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        if (_flights.TryFollow<FlightOutcome>(key, out var joined))
        {
            var waitTimeout = state.Policy.WaitTimeout ?? _options.WaitTimeout;
            var next = await FollowAsync(context, state, (RequestFlight)joined, waitTimeout, counters, canTakeOver: false).ConfigureAwait(false);
            if (next == FollowerNext.Done)
            {
                return;
            }
        }

        await RunOwnAsync(context, counters).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for a flight's outcome and answers this request from it. A follower that may take over stands in
    /// line for it; when the leader's client goes away and this one is chosen, it leads the same flight.
    /// </summary>
    private async Task<FollowerNext> FollowAsync(
        HttpContext context, EndpointState state, RequestFlight flight, TimeSpan waitTimeout, ExecutionCounters counters, bool canTakeOver)
    {
        var outcome = flight.Outcome;
        flight.AddFollower();
        _requestFlights.Joined();
        var successor = canTakeOver ? flight.Enlist(context) : null;
        Task signal = successor is null ? outcome : Task.WhenAny(outcome, successor.Turn);

        // Never throws: the leader's exception is rethrown below, apart from this wait's own timeout and abort.
        await signal.WaitAsync(waitTimeout, _time, context.RequestAborted).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!outcome.IsCompleted && successor is not { Turn.IsCompleted: true })
        {
            var withdrawn = successor is null || flight.Withdraw(successor);
            if (context.RequestAborted.IsCancellationRequested)
            {
                if (!withdrawn)
                {
                    // Chosen just as this client left: pass the flight on rather than drop it.
                    HandOver(flight);
                }

                return FollowerNext.Done;
            }

            if (withdrawn)
            {
                if (FindStaleForError(context, state, flight.Key, out var slowFor) is { } stale)
                {
                    // A leader this slow is as good as failed for this client, when a stale response may stand in.
                    await ServeStaleOnErrorAsync(context, state, stale, slowFor, counters, ranEndpoint: false, failedStatus: null).ConfigureAwait(false);
                    return FollowerNext.Done;
                }

                CoalescingLog.FollowerTimedOut(_logger, state.Name, waitTimeout);
                return FollowerNext.RunOwn;
            }
        }

        if (successor is not null && !flight.Withdraw(successor))
        {
            CoalescingLog.TookOver(_logger, state.Name);
            await LeadAsync(context, state, flight, counters).ConfigureAwait(false);
            return FollowerNext.Done;
        }

        FlightOutcome result;
        CapturedResponse? staleForError;
        TimeSpan staleFor;
        try
        {
            result = await outcome.ConfigureAwait(false);
        }
        catch when ((staleForError = FindStaleForError(context, state, flight.Key, out staleFor)) is not null)
        {
            await ServeStaleOnErrorAsync(context, state, staleForError, staleFor, counters, ranEndpoint: false, failedStatus: null).ConfigureAwait(false);
            return FollowerNext.Done;
        }
        catch
        {
            // The leader's exception, rethrown in this follower's pipeline; it counted once, as the leader's error.
            counters.Hit();
            throw;
        }

        if (result is { Kind: FlightOutcomeKind.Shared, Response.StatusCode: >= 500 } &&
            (staleForError = FindStaleForError(context, state, flight.Key, out staleFor)) is not null)
        {
            await ServeStaleOnErrorAsync(context, state, staleForError, staleFor, counters, ranEndpoint: false, result.Response.StatusCode).ConfigureAwait(false);
            return FollowerNext.Done;
        }

        if (result.Kind == FlightOutcomeKind.Shared && result.Response!.CanAnswer(context.Request))
        {
            counters.Hit();
            await ReplayAsync(context, result.Response, CacheStatus.Collapsed).ConfigureAwait(false);
            return FollowerNext.Done;
        }

        // A follower whose own client has gone neither retries nor runs: when a load balancer or client cuts many
        // connections at once, that would turn one aborted leader into a herd of wasted executions.
        if (context.RequestAborted.IsCancellationRequested)
        {
            return FollowerNext.Done;
        }

        return result.Kind == FlightOutcomeKind.LeaderAborted && canTakeOver ? FollowerNext.Retry : FollowerNext.RunOwn;
    }

    private void SetCacheStatus(HttpContext context, string status)
    {
        if (_options.EmitCacheStatus)
        {
            CacheStatus.Set(context.Response, CacheStatusName, status);
        }
    }

    private Task ReplayAsync(HttpContext context, CapturedResponse response, string cacheStatus, bool stored = false, bool evenIfTimedOut = false)
    {
        SetCacheStatus(context, cacheStatus);

        // A request that timed out (ASP.NET's request timeouts) has a cancelled abort token but a client still there.
        return response.ReplayAsync(context, _time.GetUtcNow(), stored, evenIfTimedOut ? CancellationToken.None : context.RequestAborted);
    }

    private async Task RunOwnAsync(HttpContext context, ExecutionCounters counters)
    {
        SetCacheStatus(context, CacheStatus.Bypass);

        counters.StartedAlone();
        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch when (!context.RequestAborted.IsCancellationRequested)
        {
            counters.Completed(failed: true);
            throw;
        }
        catch
        {
            counters.Completed(failed: false);
            throw;
        }

        counters.Completed(failed: false);
    }

    /// <summary>
    /// Runs the endpoint for <paramref name="flight"/>, streaming to this request's client while keeping a copy,
    /// and settles the flight: shared, not shareable, failed, or handed over when this client goes away.
    /// </summary>
    private Task LeadAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters)
    {
        var memoizing = state.Policy.MemoizeTtl is not null;
        if (memoizing || flight.Tags.Length > 0)
        {
            // Before the endpoint (or the second level) reads anything, so an invalidation from now on reaches this flight.
            _requestFlights.Watch(flight);
        }

        // The request looked for a memoized response before it joined; a flight that ended in between may have just
        // stored one, and running the endpoint again for it would be a second execution for one miss.
        if (memoizing && (_distributed is null || !state.Policy.HasTags || _distributed.IsSynchronized) &&
            _cache.TryPeek<CapturedResponse>(flight.Key, out var justStored) && justStored.CanAnswer(context.Request))
        {
            counters.Memoized();
            Settle(flight, FlightOutcome.Shared(justStored));
            return ReplayAsync(context, justStored, CacheStatus.Hit, stored: true);
        }

        return (_secondLevel is not null && memoizing && !state.ReturnsOneShotResult) || _acrossInstances is not null
            ? LeadThroughSharedStoreAsync(context, state, flight, counters)
            : RunEndpointAsync(context, state, flight, counters, startSeq: null);
    }

    /// <summary>A leader on an app with a second level or across-instances coalescing: asks them first.</summary>
    private async Task LeadThroughSharedStoreAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters)
    {
        long? startSeq = null;
        if (_secondLevel is not null && state.Policy.MemoizeTtl is { } memoTtl && !state.ReturnsOneShotResult)
        {
            if (await TryAnswerFromSecondLevelAsync(context, state, flight, counters, memoTtl).ConfigureAwait(false))
            {
                return;
            }

            // Read before the endpoint runs: its result is valid in the second level only if none of its tags was
            // invalidated after this.
            // (Across instances, the lease comes with the seq: no read of its own. Should the instance run here after
            // all, the shared store could not answer, and the result is not stored there.)
            startSeq = _distributed is null || _acrossInstances is not null
                ? null
                : await _distributed.ReadSeqAsync(CancellationToken.None).ConfigureAwait(false);
        }

        // Across instances (RequestCoalescingMiddleware.AcrossInstances.cs): another instance's result answers, or this
        // one runs under a lease, whose completion stores and shares the result in place of the second-level store below.
        var acrossInstances = _acrossInstances is null ? AcrossInstances.RunHere : await LeadAcrossInstancesAsync(context, state, flight, counters).ConfigureAwait(false);
        if (acrossInstances == AcrossInstances.Answered)
        {
            return;
        }

        await RunEndpointAsync(context, state, flight, counters, acrossInstances == AcrossInstances.Leased ? null : startSeq).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the endpoint with the response copy in place. Synchronous when the endpoint completes synchronously and
    /// no stale response stands by (the common case for small responses); otherwise <see cref="AwaitEndpointAsync"/>
    /// finishes the run.
    /// </summary>
    private Task RunEndpointAsync(HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, long? startSeq)
    {
        counters.Started();

        SetCacheStatus(context, CacheStatus.Miss);

        // When a stale response could stand in for a failure, the leader's own response is held back until the
        // endpoint has finished, so an exception or a 5xx can still be replaced for its client too.
        var original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var hold = FindStaleForError(context, state, flight.Key, out _) is null
            ? null
            : new HoldingResponseBody(original, _options.MaxBufferedBodyBytes);
        var entryHeaders = SnapshotHeaders(context.Response.Headers);
        var capture = new ResponseCapture(hold ?? original, context.Response.Headers, _options.MaxBufferedBodyBytes, _releaseStreaming, flight);
        context.Features.Set<IHttpResponseBodyFeature>(capture);
        var memoizing = state.Policy.MemoizeTtl is not null;
        if (memoizing)
        {
            // Only the replayability filter of memoized endpoints looks for it.
            context.Features.Set(capture);
        }

        Task endpoint;
        try
        {
            endpoint = _next(context);
        }
        catch (Exception ex)
        {
            // Judged as if the endpoint's task had failed with it, below.
            endpoint = Task.FromException(ex);
        }

        if (hold is not null || !endpoint.IsCompletedSuccessfully)
        {
            return AwaitEndpointAsync(context, state, flight, counters, startSeq, endpoint, original, hold, entryHeaders, capture);
        }

        using (capture)
        {
            RestoreBody(context, original, memoizing);
            capture.Finish();
            RecordStatus(context, state);

            // (What it keeps, it copies before it returns.)
            return SettleLeadAsync(context, state, flight, counters, capture, entryHeaders, startSeq);
        }
    }

    /// <summary>The endpoint's run, for one still in progress, failed, or whose response is held back.</summary>
    private async Task AwaitEndpointAsync(
        HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, long? startSeq, Task endpoint,
        IHttpResponseBodyFeature original, HoldingResponseBody? hold, KeyValuePair<string, StringValues>[]? entryHeaders, ResponseCapture capture)
    {
        using var holding = hold;
        using var copying = capture;
        Exception? replaceable = null;
        try
        {
            await endpoint.ConfigureAwait(false);
        }
        catch when (context.RequestAborted.IsCancellationRequested && (hold is null || !IsTimedOut(context)))
        {
            counters.Completed(failed: false);
            HandOver(flight);
            throw;
        }
        catch (Exception ex) when (hold is { Released: false } && !context.Response.HasStarted)
        {
            replaceable = ex;
        }
        catch (Exception ex)
        {
            counters.Completed(failed: true);
            RecordHealth(state, failed: true, ex.GetType().Name, ex);
            Settle(flight, outcome: null, ex);
            throw;
        }
        finally
        {
            RestoreBody(context, original, state.Policy.MemoizeTtl is not null);
        }

        if (replaceable is not null)
        {
            counters.Completed(failed: true);
            RecordHealth(state, failed: true, IsTimedOut(context) ? "request timeout" : replaceable.GetType().Name, replaceable);
            Settle(flight, outcome: null, replaceable);
            var stale = FindStaleForError(context, state, flight.Key, out var staleFor);
            if (stale is null)
            {
                // Invalidated while the endpoint ran: the error goes through after all.
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(replaceable);
                return;
            }

            ResetResponse(context, entryHeaders);
            await ServeStaleOnErrorAsync(context, state, stale, staleFor, counters, ranEndpoint: true, failedStatus: null).ConfigureAwait(false);
            return;
        }

        capture.Finish();
        CapturedResponse? replacement = null;
        var replacementStale = TimeSpan.Zero;
        if (hold is not null)
        {
            if (context.Response.StatusCode >= 500 && !hold.Released && !context.Response.HasStarted &&
                !context.RequestAborted.IsCancellationRequested)
            {
                replacement = FindStaleForError(context, state, flight.Key, out replacementStale);
            }

            if (replacement is null)
            {
                await hold.CommitAsync(context.RequestAborted).ConfigureAwait(false);
            }
        }

        var status = context.Response.StatusCode;
        RecordStatus(context, state);
        await SettleLeadAsync(context, state, flight, counters, capture, entryHeaders, startSeq).ConfigureAwait(false);
        if (replacement is not null)
        {
            // The followers were given the 5xx; each looks for the stale response on its own, as this client does.
            hold!.Discard();
            ResetResponse(context, entryHeaders);
            await ServeStaleOnErrorAsync(context, state, replacement, replacementStale, counters, ranEndpoint: true, status).ConfigureAwait(false);
        }
    }

    /// <summary>Puts the server's response body back after the endpoint ran.</summary>
    private static void RestoreBody(HttpContext context, IHttpResponseBodyFeature original, bool memoizing)
    {
        context.Features.Set(original);
        if (memoizing)
        {
            context.Features.Set<ResponseCapture>(null);
        }
    }

    /// <summary>For endpoints with stale windows: whether the endpoint's status counts as a failure.</summary>
    private void RecordStatus(HttpContext context, EndpointState state)
    {
        if (state.Health is not null && !context.RequestAborted.IsCancellationRequested)
        {
            var status = context.Response.StatusCode;
            RecordHealth(state, failed: status >= 500, $"status {status}");
        }
    }

    /// <summary>
    /// After the endpoint ran to the end for a flight: judges, shares and keeps what it produced. Synchronous unless
    /// there is something to keep.
    /// </summary>
    private Task SettleLeadAsync(
        HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, ResponseCapture capture,
        KeyValuePair<string, StringValues>[]? entryHeaders, long? startSeq)
    {
        var memoizing = state.Policy.MemoizeTtl is not null;
        if (capture.Streaming || (!memoizing && !flight.HasFollowers))
        {
            // Streaming: the followers were released at its first byte. Otherwise the common unique-key case:
            // nobody waits, so don't judge or build a copy nobody will replay (nor ask whether the client is still
            // there, which costs Kestrel a lock: a follower that joins now runs its own request either way).
            counters.Completed(failed: false);
            Settle(flight, FlightOutcome.NotCaptured);
            return Task.CompletedTask;
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            counters.Completed(failed: false);
            HandOver(flight);
            return Task.CompletedTask;
        }

        var notShareable = WhyNotShareable(context, state, capture);
        if (notShareable is not null)
        {
            _passThrough.Mark(flight.Key, _options.PassThroughDuration);
            CoalescingLog.NotShared(_logger, state.Name, notShareable, _options.PassThroughDuration);
            counters.Completed(failed: false);
            Settle(flight, FlightOutcome.NotShareable);
            return Task.CompletedTask;
        }

        var response = Capture(context, capture, entryHeaders, _time.GetUtcNow());
        if (state.Policy.MemoizeTtl is { } ttl && !state.ReturnsOneShotResult && IsMemoizable(context, capture))
        {
            return KeepAndShareAsync(state, flight, counters, response, ttl, startSeq);
        }

        counters.Completed(failed: false);
        Settle(flight, FlightOutcome.Shared(response));
        return Task.CompletedTask;
    }

    /// <summary>Memoizes a leader's response, then shares it, then (across instances) stores it in the second level.</summary>
    private async Task KeepAndShareAsync(
        EndpointState state, RequestFlight flight, ExecutionCounters counters, CapturedResponse response, TimeSpan ttl, long? startSeq)
    {
        var memoized = await MemoizeAsync(state, flight, response, ttl).ConfigureAwait(false);
        counters.Completed(failed: false);
        Settle(flight, FlightOutcome.Shared(response));
        if (memoized && startSeq is { } seq)
        {
            // After the followers are released; bounded by the store's budget. The store refuses it if a tag was
            // invalidated after the endpoint started.
            await StoreInSecondLevelAsync(state, flight, response, ttl, seq).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// On a local miss, the leader asks the second level once for the key. A hit is kept locally for the entry's
    /// remaining lifetime (unless an invalidation reached the flight meanwhile) and answers the leader and its
    /// followers as a local hit would.
    /// </summary>
    private async Task<bool> TryAnswerFromSecondLevelAsync(
        HttpContext context, EndpointState state, RequestFlight flight, ExecutionCounters counters, TimeSpan memoTtl)
    {
        SecondLevelEntry? entry;
        try
        {
            entry = await _secondLevel!.TryGetAsync(flight.Key, flight.Tags, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The store promises not to throw; if it does anyway, the endpoint runs as without it.
            CoalescingLog.SecondLevelFailed(_logger, ex, state.Name);
            return false;
        }

        if (entry is not { } hit)
        {
            return false;
        }

        var response = CapturedResponseFormatter.TryDeserialize(hit.Payload, out var problem);
        if (response is null)
        {
            CoalescingLog.SecondLevelMalformed(_logger, state.Name, problem ?? "unknown");
            return false;
        }

        if (!response.CanAnswer(context.Request))
        {
            return false;
        }

        var ttl = hit.RemainingTimeToLive < memoTtl ? hit.RemainingTimeToLive : memoTtl;
        if (ttl > TimeSpan.Zero)
        {
            await MemoizeAsync(state, flight, response, ttl).ConfigureAwait(false);
        }

        counters.Hit();
        Settle(flight, FlightOutcome.Shared(response));
        await ReplayAsync(context, response, CacheStatus.Hit, stored: true).ConfigureAwait(false);
        return true;
    }

    private async Task StoreInSecondLevelAsync(EndpointState state, RequestFlight flight, CapturedResponse response, TimeSpan ttl, long startSeq)
    {
        if (flight.Invalidated)
        {
            return;
        }

        try
        {
            var payload = CapturedResponseFormatter.Serialize(response);
            await _secondLevel!.TrySetAsync(flight.Key, payload, ttl, flight.Tags, startSeq, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            CoalescingLog.SecondLevelFailed(_logger, ex, state.Name);
        }
    }

    /// <summary>A leader showed it streams: its followers go their own way at once, and so do new arrivals for a while.</summary>
    private void ReleaseStreaming(object state)
    {
        var flight = (RequestFlight)state;
        _passThrough.Mark(flight.Key, _options.PassThroughDuration);
        CoalescingLog.NotShared(_logger, flight.EndpointName, "it streams", _options.PassThroughDuration);
        flight.TrySucceed(FlightOutcome.NotShareable);
    }

    private void HandOver(RequestFlight flight)
    {
        flight.HandOver();
        if (flight.IsSettled)
        {
            _requestFlights.Unwatch(flight);
        }
    }

    private void Settle(RequestFlight flight, FlightOutcome? outcome, Exception? error = null)
    {
        _requestFlights.Unwatch(flight);
        if (error is not null)
        {
            flight.TryFail(error);
        }
        else
        {
            flight.TrySucceed(outcome!.Value);
        }
    }

    private string? WhyNotShareable(HttpContext context, EndpointState state, ResponseCapture capture)
    {
        var response = context.Response;
        var headers = response.Headers;
        if (capture.Overflowed)
        {
            return $"body larger than {_options.MaxBufferedBodyBytes} bytes";
        }

        if (headers.ContainsKey(HeaderNames.SetCookie))
        {
            return "it sets a cookie";
        }

        if (HttpMethods.IsHead(context.Request.Method) && !StringValues.Equals(capture.ContentEncoding, headers.ContentEncoding))
        {
            // A HEAD replay writes no body, so an outer middleware that encodes bodies would not add its headers.
            return "a HEAD response that an outer middleware encoded";
        }

        if (response.StatusCode is StatusCodes.Status206PartialContent or StatusCodes.Status304NotModified or StatusCodes.Status412PreconditionFailed ||
            headers.ContainsKey(HeaderNames.ContentRange))
        {
            return $"status {response.StatusCode} answers only its own request";
        }

        if (!HttpMethods.IsHead(context.Request.Method) && response.ContentLength is { } length && length != capture.CopiedLength &&
            StringValues.IsNullOrEmpty(capture.ContentEncoding) == StringValues.IsNullOrEmpty(headers.ContentEncoding))
        {
            return $"unfinished: {capture.CopiedLength} of {length} bytes";
        }

        foreach (var vary in capture.Vary)
        {
            foreach (var name in (vary ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!IsInKey(state, name))
                {
                    return $"it varies on '{name}', which the key does not hold";
                }
            }
        }

        return null;
    }

    private static bool IsInKey(EndpointState state, string header) =>
        Array.Exists(state.VaryByHeaders, h => h.Equals(header, StringComparison.OrdinalIgnoreCase)) ||
        (state.VaryByIdentity && Array.Exists(state.IdentityHeaders, h => h.Equals(header, StringComparison.OrdinalIgnoreCase)));

    private static bool IsMemoizable(HttpContext context, ResponseCapture capture)
    {
        var status = context.Response.StatusCode;
        if (status is < 200 or > 299 || capture.SentFile || capture.NotReplayable || capture.Streaming)
        {
            return false;
        }

        foreach (var directive in context.Response.Headers.CacheControl)
        {
            if (directive is not null && directive.Contains("no-store", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Keeps the response unless an invalidation reached the flight; one that arrives while it is being stored
    /// finds it stored (and removes it), or is found here afterwards (and the entry is removed again).
    /// </summary>
    /// <returns>Whether the response was kept (and no invalidation reached the flight).</returns>
    private async Task<bool> MemoizeAsync(EndpointState state, RequestFlight flight, CapturedResponse response, TimeSpan ttl)
    {
        if (flight.Invalidated)
        {
            return false;
        }

        try
        {
            var policy = state.Policy;
            if (policy.HasStaleWindows)
            {
                _cache.Store(flight.Key, response, ttl, flight.Tags, policy.StaleWhileRevalidate, policy.StaleIfError);
            }
            else
            {
                await _cache.SetAsync(flight.Key, response, ttl, flight.Tags).ConfigureAwait(false);
            }

            if (flight.Invalidated && _cache.TryGet<CapturedResponse>(flight.Key, out var stored) && ReferenceEquals(stored, response))
            {
                // Housekeeping after an invalidation that was already published (or applied from another instance).
                await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => _cache.DeleteAsync(flight.Key)).ConfigureAwait(false);
                return false;
            }

            return !flight.Invalidated;
        }
        catch (Exception ex)
        {
            // Keeping a copy is an optimisation: a failure must not cost anyone the response already produced.
            if (state.FirstTime(EndpointState.Failure.Memoize))
            {
                CoalescingLog.MemoizeFailed(_logger, ex, state.Name);
            }

            return false;
        }
    }

    private static CapturedResponse Capture(HttpContext context, ResponseCapture capture, KeyValuePair<string, StringValues>[]? entryHeaders, DateTimeOffset renderedAt)
    {
        var response = context.Response;
        var isHead = HttpMethods.IsHead(context.Request.Method);
        var headers = new List<KeyValuePair<string, StringValues>>(response.Headers.Count);
        foreach (var header in response.Headers)
        {
            if (CapturedResponse.IsPerMessageHeader(header.Key) || WasSetBeforeEntry(entryHeaders, header) ||
                header.Key.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase) ||
                header.Key.Equals(HeaderNames.Vary, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            headers.Add(header);
        }

        // The encoding and Vary that describe the copied bytes are those the inner pipeline set: an outer
        // compression middleware adds its own on the way out, and adds them again for each follower.
        if (!StringValues.IsNullOrEmpty(capture.ContentEncoding))
        {
            headers.Add(new(HeaderNames.ContentEncoding, capture.ContentEncoding));
        }

        if (!StringValues.IsNullOrEmpty(capture.Vary))
        {
            headers.Add(new(HeaderNames.Vary, capture.Vary));
        }

        return new CapturedResponse(response.StatusCode, [.. headers], isHead ? [] : capture.CopyToArray(), isHead ? response.ContentLength : null, renderedAt);
    }

    /// <summary>
    /// Headers that middleware outside this one set before the leader entered (a request id, say) belong to the
    /// leader's own request; replaying them would hand followers the leader's values.
    /// </summary>
    private static bool WasSetBeforeEntry(KeyValuePair<string, StringValues>[]? entryHeaders, KeyValuePair<string, StringValues> header)
    {
        if (entryHeaders is null)
        {
            return false;
        }

        foreach (var entry in entryHeaders)
        {
            if (entry.Key.Equals(header.Key, StringComparison.OrdinalIgnoreCase))
            {
                return StringValues.Equals(entry.Value, header.Value);
            }
        }

        return false;
    }

    private static KeyValuePair<string, StringValues>[]? SnapshotHeaders(IHeaderDictionary headers) =>
        headers.Count == 0 ? null : [.. headers];

    private void InvalidateOnSuccess(HttpContext context, EndpointState state)
    {
        context.Response.OnStarting(static s =>
        {
            var (self, ctx, endpoint) = ((RequestCoalescingMiddleware, HttpContext, EndpointState))s;
            return self.InvalidateIfSucceededAsync(ctx, endpoint);
        }, (this, context, state));
    }

    private async Task InvalidateIfSucceededAsync(HttpContext context, EndpointState state)
    {
        if (context.Response.StatusCode is < 200 or > 299)
        {
            return;
        }

        var tags = new List<string>(state.InvalidatesTags.Length);
        foreach (var template in state.InvalidatesTags)
        {
            tags.Add(template.Resolve(context));
        }

        // Published below, and awaited there; not again by the cache's publisher.
        var removed = await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => _cache.InvalidateByTagsAsync(tags)).ConfigureAwait(false);
        CoalescingLog.Invalidated(_logger, removed, string.Join(", ", tags), state.Name);
        await _hybridCache.RemoveByTagsAsync(tags, state.Name).ConfigureAwait(false);
        if (_distributed is not null)
        {
            // Still before the 2xx leaves: with read-your-writes, it may leave only once every instance that still
            // serves has evicted the tags or stopped serving them. When that cannot be confirmed in time, the client
            // must not take the write as done: 503 (the write did happen; its invalidation is queued).
            bool confirmed;
            try
            {
                confirmed = await _distributed.ConfirmWriteAsync(tags, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                CoalescingLog.PublishFailed(_logger, ex, string.Join(", ", tags), state.Name);
                confirmed = false;
            }

            if (!confirmed)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "1";
            }
        }
    }

    private async Task PassThroughWatchingRoutingAsync(HttpContext context)
    {
        await _next(context).ConfigureAwait(false);
        if (context.GetEndpoint() is not null && Interlocked.Exchange(ref _warnedAboutRouting, 1) == 0)
        {
            CoalescingLog.RoutingRanLater(_logger);
        }
    }
}
