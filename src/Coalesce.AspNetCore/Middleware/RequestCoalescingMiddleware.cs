using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

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
internal sealed class RequestCoalescingMiddleware
{
    private readonly RequestDelegate _next;
    private readonly RequestCoalescingOptions _options;
    private readonly CoalescingStatsRegistry _stats;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Endpoint, EndpointState> _endpoints = new();
    private readonly RequestPath _path;
    private readonly ResponseMemo _memo;
    private readonly StaleResponses _stale;
    private readonly FlightLeader _leader;
    private readonly RequestFollower _follower;
    private readonly WriteInvalidation _writes;
    private readonly IdempotentRequests _idempotent;
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
        _logger = logger;
        var scaleOut = new ScaleOutSeams(services);
        _path = new RequestPath(next, _options, flights, cache, time, logger, scaleOut);
        _memo = new ResponseMemo(_path);

        // A background refresh of a stale response leads a flight as a request would.
        _stale = new StaleResponses(_path, services, (context, state, flight, counters) => _leader!.LeadAsync(context, state, flight, counters));
        _leader = new FlightLeader(_path, _memo, _stale, new CrossInstanceLeader(_path, _memo));
        _follower = new RequestFollower(_path, _leader, _stale);
        _writes = new WriteInvalidation(cache, hybridCache, scaleOut, logger);
        _idempotent = new IdempotentRequests(_path, services);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.Features.Find<IEndpointFeature>()?.Endpoint;
        if (endpoint is null)
        {
            return Volatile.Read(ref _warnedAboutRouting) == 0 ? PassThroughWatchingRoutingAsync(context) : _next(context);
        }

        // What middleware in front read is settled; Coalesce's own reads are not the app's.
        RequestInputs.Of(context)?.Enter();
        var state = _endpoints.GetOrAdd(endpoint, static (e, self) => self.CreateState(e), this);
        if (state.InvalidatesTags.Length > 0)
        {
            _writes.InvalidateOnSuccess(context, state);
        }

        // Decided once per endpoint: endpoints without a policy pay one null check.
        if (state.Idempotency is { } idempotency && IdempotentRequests.AppliesTo(context.Request.Method))
        {
            return _idempotent.InvokeAsync(context, state, idempotency);
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

        var headers = RequestInputs.UnrecordedHeaders(context);
        if (headers.ContentLength > 0 || headers.TransferEncoding.Count > 0 ||
            context.Features.Find<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            return false;
        }

        return headers.Upgrade.Count == 0 &&
               context.Features.Find<IHttpUpgradeFeature>()?.IsUpgradableRequest != true &&
               context.Features.Find<IHttpExtendedConnectFeature>()?.IsExtendedConnect != true &&
               !AcceptsEventStream(headers.Accept);
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
        _path.SetCacheStatus(context, CacheStatus.Bypass);

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

            return _path.RunAloneAsync(context, counters);
        }

        if (_memo.MayAnswer(state))
        {
            counters.LookedInMemo();
            if (state.Policy.HasStaleWindows)
            {
                return AnswerFromStoredOrRunAsync(context, state, key, counters);
            }

            if (_memo.TryFind(context, state, key, out var memoized))
            {
                counters.Memoized();
                return _path.ReplayAsync(context, memoized, CacheStatus.Hit, stored: true);
            }
        }

        return RunAsync(context, state, key, counters);
    }

    private async Task AnswerFromStoredOrRunAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        if (!await _stale.TryAnswerAsync(context, state, key, counters).ConfigureAwait(false))
        {
            await RunAsync(context, state, key, counters).ConfigureAwait(false);
        }
    }

    /// <summary>Nothing stored answered the request: it leads a flight, follows one, or runs on its own.</summary>
    private Task RunAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        // A request with validators or a range would get its own kind of answer from the endpoint, which nobody
        // else could use: it never leads, but a shared execution already running can answer it.
        var headers = RequestInputs.UnrecordedHeaders(context);
        if (headers.Range.Count > 0 || HttpPreconditions.IsConditional(headers))
        {
            return _follower.FollowOnlyAsync(context, state, key, counters);
        }

        if (_path.PassThrough.IsPassingThrough(key))
        {
            return _path.RunAloneAsync(context, counters);
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

                return _path.RunAloneAsync(context, counters);
            }
        }

        var mine = new RequestFlight(key, tags, state.Name);
        return mine.TryLead(_path.Calls, out var joined)
            ? _leader.LeadAsync(context, state, mine, counters)
            : _follower.FollowThenLeadAsync(context, state, key, tags, joined, counters);
    }

    /// <summary>
    /// A request with no endpoint yet: either routing runs after this middleware (an endpoint shows up once the rest of
    /// the pipeline ran), or legacy routing handled it (it sets the routing feature, never an endpoint). Either way no
    /// request is coalesced, which is said once; requests that simply match nothing (static files, 404s) say nothing.
    /// </summary>
    private async Task PassThroughWatchingRoutingAsync(HttpContext context)
    {
        await _next(context).ConfigureAwait(false);
        if (context.GetEndpoint() is not null)
        {
            if (Interlocked.Exchange(ref _warnedAboutRouting, 1) == 0)
            {
                CoalescingLog.RoutingRanLater(_logger);
            }
        }
        else if (context.Features.Get<Microsoft.AspNetCore.Routing.IRoutingFeature>()?.RouteData is not null &&
                 Interlocked.Exchange(ref _warnedAboutRouting, 1) == 0)
        {
            CoalescingLog.LegacyRouting(_logger);
        }
    }
}
