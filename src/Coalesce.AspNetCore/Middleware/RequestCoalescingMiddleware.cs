using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// Request coalescing: while a leader request runs for a key, identical requests (followers) wait for its
/// response and replay it instead of running the endpoint again. Memoized endpoints keep that response for
/// their TTL. See DESIGN.md, "Request-coalescing middleware", for the rules this follows.
/// </summary>
/// <remarks>
/// <para>
/// The leader's response streams to its own client as usual; a copy up to
/// <see cref="RequestCoalescingOptions.MaxBufferedBodyBytes"/> is kept for its followers. A response that sets a
/// cookie, overflows that limit, was not finished, varies on a header the key doesn't hold or is an event
/// stream is never shared: its followers run their own requests and the key passes through for a while.
/// </para>
/// <para>
/// If the leader's client goes away, its followers are not failed: one of them takes over and runs. If the
/// leader throws, every follower's pipeline sees the same exception. A follower waits at most the wait
/// timeout, then runs on its own.
/// </para>
/// </remarks>
internal sealed class RequestCoalescingMiddleware
{
    private readonly RequestDelegate _next;
    private readonly RequestCoalescingOptions _options;
    private readonly CoalescingStatsRegistry _stats;
    private readonly MemoCache _cache;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SharedCall _flights;
    private readonly PassThroughKeys _passThrough;
    private readonly ConcurrentDictionary<Endpoint, EndpointState> _endpoints = new();
    private int _warnedAboutRouting;

    public RequestCoalescingMiddleware(
        RequestDelegate next,
        IOptions<RequestCoalescingOptions> options,
        CoalescingStatsRegistry stats,
        RequestFlights flights,
        MemoCache cache,
        TimeProvider time,
        ILogger<RequestCoalescingMiddleware> logger)
    {
        _next = next;
        _options = options.Value;
        _stats = stats;
        _flights = flights.Calls;
        _cache = cache;
        _time = time;
        _logger = logger;
        _passThrough = new PassThroughKeys(time);
    }

    public Task InvokeAsync(HttpContext context)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null)
        {
            return Volatile.Read(ref _warnedAboutRouting) == 0 ? PassThroughWatchingRoutingAsync(context) : _next(context);
        }

        var state = _endpoints.GetOrAdd(endpoint, static (e, self) => new EndpointState(e, self._options, self._stats), this);
        if (state.InvalidatesTags.Length > 0)
        {
            InvalidateOnSuccess(context, state);
        }

        if (!state.Enabled || !IsEligible(context))
        {
            return _next(context);
        }

        return CoalesceAsync(context, state);
    }

    private static bool IsEligible(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            return false;
        }

        if (request.ContentLength > 0 || request.Headers.ContainsKey(HeaderNames.TransferEncoding) ||
            context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            return false;
        }

        return request.Headers.Upgrade.Count == 0 &&
               context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest != true &&
               context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect != true;
    }

    private async Task CoalesceAsync(HttpContext context, EndpointState state)
    {
        var counters = new ExecutionCounters(_stats.Requests, state.CountersFor(context.Request.Method));
        var key = RequestKeyBuilder.Build(context, state);

        if (state.Policy.MemoizeTtl is not null && _cache.TryGet<CapturedResponse>(key, out var memoized))
        {
            counters.Hit();
            await memoized.ReplayAsync(context).ConfigureAwait(false);
            return;
        }

        if (_passThrough.IsPassingThrough(key))
        {
            await RunOwnAsync(context, counters).ConfigureAwait(false);
            return;
        }

        var waitTimeout = state.Policy.WaitTimeout ?? _options.WaitTimeout;

        // Each round retires its leader, so takeovers end within as many rounds as there are waiters.
        for (var attempt = 1; ; attempt++)
        {
            var leader = new LeaderRun(this, context, state, key, counters);
            var flight = _flights.JoinOrRun(key, leader.RunAsync, out var isLeader);
            if (isLeader)
            {
                // The leader's response is already written; only its own abort needs surfacing.
                var own = await flight.ConfigureAwait(false);
                if (own.Kind == FlightOutcomeKind.LeaderAborted && leader.AbortError is { } abortError)
                {
                    ExceptionDispatchInfo.Throw(abortError);
                }

                return;
            }

            FlightOutcome outcome;
            try
            {
                outcome = await flight.WaitAsync(waitTimeout, _time, context.RequestAborted).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                CoalescingLog.FollowerTimedOut(_logger, state.Name, waitTimeout);
                await RunOwnAsync(context, counters).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
            catch
            {
                // The leader's exception, rethrown in this follower's pipeline; it counted once, as the leader's error.
                counters.Hit();
                throw;
            }

            if (outcome.Kind == FlightOutcomeKind.Shared)
            {
                counters.Hit();
                await outcome.Response!.ReplayAsync(context).ConfigureAwait(false);
                return;
            }

            // A follower whose own client has gone neither takes over nor runs: when a load balancer or client
            // cuts many connections at once, that would turn one aborted leader into a herd of wasted executions.
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            if (outcome.Kind == FlightOutcomeKind.LeaderAborted)
            {
                CoalescingLog.LeaderAborted(_logger, state.Name, attempt);
                continue;
            }

            await RunOwnAsync(context, counters).ConfigureAwait(false);
            return;
        }
    }

    private async Task RunOwnAsync(HttpContext context, ExecutionCounters counters)
    {
        counters.Started();
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

    private async Task<FlightOutcome> LeadAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters, LeaderRun run)
    {
        counters.Started();
        var original = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var entryHeaders = SnapshotHeaders(context.Response.Headers);
        using var capture = new ResponseCapture(original, _options.MaxBufferedBodyBytes);
        var memoizing = state.Policy.MemoizeTtl is not null;
        context.Features.Set<IHttpResponseBodyFeature>(capture);
        if (memoizing)
        {
            // Only the replayability filter of memoized endpoints looks for it.
            context.Features.Set(capture);
        }

        try
        {
            await _next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested)
        {
            counters.Completed(failed: false);
            run.AbortError = ex;
            return FlightOutcome.LeaderAborted;
        }
        catch
        {
            counters.Completed(failed: true);
            throw;
        }
        finally
        {
            context.Features.Set(original);
            if (memoizing)
            {
                context.Features.Set<ResponseCapture>(null);
            }
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            counters.Completed(failed: false);
            return FlightOutcome.LeaderAborted;
        }

        if (!memoizing && !_flights.HasFollowers(key))
        {
            // The common unique-key case: nobody waits, so don't judge or build a copy nobody will replay.
            counters.Completed(failed: false);
            return FlightOutcome.NotCaptured;
        }

        var notShareable = WhyNotShareable(context, state, capture);
        if (notShareable is not null)
        {
            _passThrough.Mark(key, _options.PassThroughDuration);
            CoalescingLog.NotShared(_logger, state.Name, notShareable, _options.PassThroughDuration);
            counters.Completed(failed: false);
            return FlightOutcome.NotShareable;
        }

        var memoizeTtl = state.Policy.MemoizeTtl is { } ttl && !state.ReturnsOneShotResult && IsMemoizable(context, capture) ? ttl : (TimeSpan?)null;
        var response = Capture(context, capture, entryHeaders);
        if (memoizeTtl is { } keepFor)
        {
            await MemoizeAsync(context, state, key, response, keepFor).ConfigureAwait(false);
        }

        counters.Completed(failed: false);
        return FlightOutcome.Shared(response);
    }

    private string? WhyNotShareable(HttpContext context, EndpointState state, ResponseCapture capture)
    {
        var response = context.Response;
        var headers = response.Headers;
        if (capture.Buffer.Overflowed)
        {
            return $"body larger than {_options.MaxBufferedBodyBytes} bytes";
        }

        if (headers.ContainsKey(HeaderNames.SetCookie))
        {
            return "it sets a cookie";
        }

        if (response.ContentType is { } contentType && contentType.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            return "an event stream";
        }

        if (!HttpMethods.IsHead(context.Request.Method) && response.ContentLength is { } length && length != capture.Buffer.Length)
        {
            return $"unfinished: {capture.Buffer.Length} of {length} bytes";
        }

        foreach (var vary in headers.Vary)
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
        (state.VaryByIdentity && (header.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase) ||
                                  header.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase)));

    private static bool IsMemoizable(HttpContext context, ResponseCapture capture)
    {
        var status = context.Response.StatusCode;
        if (status is < 200 or > 299 || capture.SentFile || capture.NotReplayable)
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

    private async Task MemoizeAsync(HttpContext context, EndpointState state, string key, CapturedResponse response, TimeSpan ttl)
    {
        try
        {
            var tags = state.Policy.ResolveTags(context);
            await _cache.SetAsync(key, response, ttl, tags).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            // A bad tag function must not fail a response that was already sent to its client.
            CoalescingLog.MemoizeFailed(_logger, ex, state.Name);
        }
    }

    private static CapturedResponse Capture(HttpContext context, ResponseCapture capture, KeyValuePair<string, StringValues>[]? entryHeaders)
    {
        var response = context.Response;
        var isHead = HttpMethods.IsHead(context.Request.Method);
        var headers = new List<KeyValuePair<string, StringValues>>(response.Headers.Count);
        foreach (var header in response.Headers)
        {
            if (CapturedResponse.IsPerMessageHeader(header.Key) || WasSetBeforeEntry(entryHeaders, header))
            {
                continue;
            }

            headers.Add(header);
        }

        return new CapturedResponse(response.StatusCode, [.. headers], isHead ? [] : capture.Buffer.ToArray(), isHead ? response.ContentLength : null);
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

        var removed = await _cache.InvalidateByTagsAsync(tags).ConfigureAwait(false);
        CoalescingLog.Invalidated(_logger, removed, string.Join(", ", tags), state.Name);
    }

    private async Task PassThroughWatchingRoutingAsync(HttpContext context)
    {
        await _next(context).ConfigureAwait(false);
        if (context.GetEndpoint() is not null && Interlocked.Exchange(ref _warnedAboutRouting, 1) == 0)
        {
            CoalescingLog.RoutingRanLater(_logger);
        }
    }

    /// <summary>One caller's bid to lead a flight; only the leader's <see cref="RunAsync"/> is ever called.</summary>
    private sealed class LeaderRun(RequestCoalescingMiddleware owner, HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        /// <summary>The exception the leader's own pipeline ended with when its client went away.</summary>
        public Exception? AbortError { get; set; }

        public Task<FlightOutcome> RunAsync(CancellationToken cancellationToken) =>
            owner.LeadAsync(context, state, key, counters, this);
    }
}
