using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// Stale responses (<see cref="CoalescingPolicyBuilder.StaleWhileRevalidate"/>, <see cref="CoalescingPolicyBuilder.StaleIfError"/>):
/// a memoized response is kept past its time to live for the longer window; inside it, it answers while one
/// background refresh runs, or instead of a failure. An invalidation removes it like any entry, so data known to be
/// wrong is never served stale.
/// </summary>
internal sealed partial class RequestCoalescingMiddleware
{
    /// <summary>
    /// The longest rest of a failing endpoint (its time to live when shorter): stale responses answer without running
    /// it, and one probe per rest tries it again.
    /// </summary>
    internal static readonly TimeSpan MaxStaleRest = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Answers from a memoized response of an endpoint with stale windows: fresh, stale while a refresh runs, or
    /// stale while the endpoint rests after a failure. <see langword="false"/> when the request must go on.
    /// </summary>
    private async ValueTask<bool> TryAnswerFromStoredAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        if (!_cache.TryGetEntry<CapturedResponse>(key, out var stored, out var freshness) || !stored.CanAnswer(context.Request))
        {
            return false;
        }

        if (freshness.IsFresh)
        {
            counters.Memoized();
            await ReplayAsync(context, stored, CacheStatus.Hit, stored: true).ConfigureAwait(false);
            return true;
        }

        var health = state.Health!;
        if (freshness.CanRevalidate)
        {
            // While the endpoint fails, no refresh starts but the one probe per rest.
            if (health.MayTry(_time.GetTimestamp(), RestTicks(state)))
            {
                TryStartRefresh(context, state, key, stored);
            }

            counters.ServedStale(onError: false, ranEndpoint: false);
            await ReplayAsync(context, stored, CacheStatus.Stale(freshness.Stale, onError: false, failedStatus: null), stored: true).ConfigureAwait(false);
            return true;
        }

        if (freshness.CanServeOnError && !health.MayTry(_time.GetTimestamp(), RestTicks(state)))
        {
            // The endpoint is failing: don't send requests to it that a stale response can answer.
            counters.ServedStale(onError: true, ranEndpoint: false);
            await ReplayAsync(context, stored, CacheStatus.Stale(freshness.Stale, onError: true, failedStatus: null), stored: true).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    /// <summary>
    /// A memoized response that may stand in for a failure of <paramref name="key"/>'s execution now, or
    /// <see langword="null"/>. Looked up when the failure happens, so one invalidated meanwhile is not used.
    /// </summary>
    private CapturedResponse? FindStaleForError(HttpContext context, EndpointState state, string key, out TimeSpan stale)
    {
        stale = default;
        if (state.Policy.StaleIfError <= TimeSpan.Zero || context.Features.Get<RefreshRequest>() is not null ||
            (_distributed is not null && state.Policy.HasTags && !_distributed.IsSynchronized) ||
            !_cache.TryGetEntry<CapturedResponse>(key, out var stored, out var freshness) ||
            !freshness.CanServeOnError || !stored.CanAnswer(context.Request))
        {
            return null;
        }

        stale = freshness.Stale;
        return stored;
    }

    /// <summary>Answers with <paramref name="stale"/> instead of a failure.</summary>
    private Task ServeStaleOnErrorAsync(
        HttpContext context, EndpointState state, CapturedResponse stale, TimeSpan staleFor, ExecutionCounters counters, bool ranEndpoint, int? failedStatus)
    {
        counters.ServedStale(onError: true, ranEndpoint);
        return ReplayAsync(context, stale, CacheStatus.Stale(staleFor, onError: true, failedStatus), stored: true, evenIfTimedOut: ranEndpoint && IsTimedOut(context));
    }

    /// <summary>How long a failing endpoint rests: its time to live, at most <see cref="MaxStaleRest"/>.</summary>
    private static TimeSpan StaleRest(EndpointState state) =>
        state.Policy.MemoizeTtl is { } ttl && ttl < MaxStaleRest ? ttl : MaxStaleRest;

    private long RestTicks(EndpointState state) => (long)(StaleRest(state).TotalSeconds * _time.TimestampFrequency);

    /// <summary>
    /// Records how an execution of an endpoint with stale windows went: a failure (an exception, a 5xx, a timeout)
    /// makes it rest, a success ends the rest. Logs the turns, not every failure: one warning when it starts failing.
    /// </summary>
    private void RecordHealth(EndpointState state, bool failed, string? failure = null, Exception? error = null)
    {
        if (state.Health is not { } health)
        {
            return;
        }

        if (!failed)
        {
            if (health.Succeeded())
            {
                CoalescingLog.EndpointRecovered(_logger, state.Name);
            }

            return;
        }

        if (health.Failed(_time.GetTimestamp(), RestTicks(state)))
        {
            CoalescingLog.EndpointFailing(_logger, error, state.Name, failure ?? "failed", StaleRest(state));
        }
        else
        {
            CoalescingLog.EndpointStillFailing(_logger, state.Name, failure ?? "failed");
        }
    }

    private static bool IsTimedOut(HttpContext context) =>
        context.Features.Get<IHttpRequestTimeoutFeature>() is { } timeout && timeout.RequestTimeoutToken.IsCancellationRequested;

    /// <summary>
    /// Puts the leader's response back as it was when the leader entered (headers set outside stay), so a stale
    /// response can be written instead of what the endpoint produced.
    /// </summary>
    private static void ResetResponse(HttpContext context, KeyValuePair<string, StringValues>[]? entryHeaders)
    {
        var response = context.Response;
        response.Headers.Clear();
        if (entryHeaders is not null)
        {
            foreach (var (name, values) in entryHeaders)
            {
                // The miss it said is no longer true; the stale answer says what it is.
                if (!name.Equals(CacheStatus.HeaderName, StringComparison.OrdinalIgnoreCase))
                {
                    response.Headers[name] = values;
                }
            }
        }

        response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>
    /// Starts the one background refresh of a stale response, for a request like <paramref name="context"/>'s, unless
    /// one runs, the response rests after a failure, or the app is stopping.
    /// </summary>
    private void TryStartRefresh(HttpContext context, EndpointState state, string key, CapturedResponse stale)
    {
        if (_stopping.IsCancellationRequested || !stale.TryBeginRefresh())
        {
            return;
        }

        RefreshRequest refresh;
        string[] tags;
        try
        {
            tags = state.Policy.HasTags ? state.Policy.ResolveTags(context) : [];
            refresh = RefreshRequest.From(context, _scopes, _stopping);
        }
        catch (Exception ex)
        {
            stale.EndRefresh();
            if (state.FirstTime(EndpointState.Failure.Tags))
            {
                CoalescingLog.TagsFailed(_logger, ex, state.Name);
            }

            return;
        }

        var counters = state.CountersFor(context.Request.Method);
        counters.Stale.RefreshStarted();
        CoalescingLog.RefreshStarted(_logger, state.Name);

        // The refresh is not part of the request that noticed the stale response: it must not see that request's
        // ambient state (its HttpContext through IHttpContextAccessor, its activity), nor delay its answer.
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(() => RefreshAsync(refresh, state, key, tags, stale, counters));
        }
    }

    private async Task RefreshAsync(RefreshRequest refresh, EndpointState state, string key, string[] tags, CapturedResponse stale, EndpointCounters endpointCounters)
    {
        string? failure = null;
        try
        {
            await using (refresh.ConfigureAwait(false))
            {
                var context = refresh.Context;
                if (_httpContextAccessor is not null)
                {
                    _httpContextAccessor.HttpContext = context;
                }

                var flight = new RequestFlight(key, tags, state.Name);
                if (!flight.TryLead(_flights, out _))
                {
                    // An execution for the key is running already; what it renders replaces the stale response.
                    return;
                }

                await LeadAsync(context, state, flight, new ExecutionCounters(endpointCounters)).ConfigureAwait(false);
                var status = context.Response.StatusCode;
                if (context.RequestAborted.IsCancellationRequested)
                {
                    // The app is stopping: nothing to report.
                    return;
                }

                if (status >= 500)
                {
                    failure = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                else if (_cache.TryGetEntry<CapturedResponse>(key, out var current, out _) && ReferenceEquals(current, stale))
                {
                    // The endpoint answered, but not with something to keep (a 404, no-store, a cookie): the stale
                    // response no longer says what the endpoint would, so it goes.
                    // This instance's own judgement of its own stale copy: not an invalidation for the others.
                    await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => _cache.DeleteAsync(key)).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            // Logged by the execution itself (LeadAsync records the endpoint's health); counted here.
            failure = ex.GetType().FullName ?? CoalescingMetrics.OtherError;
        }
        catch (Exception)
        {
            // Cut short by the app stopping.
        }
        finally
        {
            if (_httpContextAccessor is not null)
            {
                _httpContextAccessor.HttpContext = null;
            }

            stale.EndRefresh();
        }

        if (failure is not null)
        {
            // The execution itself recorded the endpoint's health (and logged the turn).
            endpointCounters.Stale.RefreshFailed();
        }

        if (failure is not null || !_stopping.IsCancellationRequested)
        {
            // error.type: the exception's type, or the status code of a 5xx (OpenTelemetry's HTTP conventions).
            endpointCounters.Metrics?.ServerRefreshed(endpointCounters, failure);
        }
    }
}
