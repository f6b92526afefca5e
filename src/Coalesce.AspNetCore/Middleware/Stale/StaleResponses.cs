using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Timeouts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// Stale responses (<see cref="CoalescingPolicyBuilder.StaleWhileRevalidate"/>, <see cref="CoalescingPolicyBuilder.StaleIfError"/>):
/// a memoized response is kept past its time to live for the longer window; inside it, it answers while one
/// background refresh runs, or instead of a failure. An invalidation removes it like any entry, so data known to be
/// wrong is never served stale. A failing endpoint rests (<see cref="EndpointHealth"/>): stale responses answer
/// without running it, and one probe per rest tries it again.
/// </summary>
internal sealed class StaleResponses
{
    /// <summary>
    /// The longest rest of a failing endpoint (its time to live when shorter): stale responses answer without running
    /// it, and one probe per rest tries it again.
    /// </summary>
    internal static readonly TimeSpan MaxStaleRest = TimeSpan.FromSeconds(5);

    private readonly RequestPath _path;
    private readonly Func<HttpContext, EndpointState, RequestFlight, ExecutionCounters, Task> _lead;

    // Background refreshes of stale responses run in their own scope, until the app stops.
    private readonly IServiceScopeFactory _scopes;
    private readonly CancellationToken _stopping;
    private readonly IHttpContextAccessor? _httpContextAccessor;

    /// <param name="path">The request path's shared state.</param>
    /// <param name="services">The app's services (scopes for refreshes, the app's lifetime).</param>
    /// <param name="lead">Leads a flight (a refresh leads one for its key, as a request would).</param>
    public StaleResponses(RequestPath path, IServiceProvider services, Func<HttpContext, EndpointState, RequestFlight, ExecutionCounters, Task> lead)
    {
        _path = path;
        _lead = lead;
        _scopes = services.GetRequiredService<IServiceScopeFactory>();
        _stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        _httpContextAccessor = services.GetService<IHttpContextAccessor>();
    }

    /// <summary>
    /// Answers from a memoized response of an endpoint with stale windows: fresh, stale while a refresh runs, or
    /// stale while the endpoint rests after a failure. <see langword="false"/> when the request must go on.
    /// </summary>
    public async ValueTask<bool> TryAnswerAsync(HttpContext context, EndpointState state, string key, ExecutionCounters counters)
    {
        if (!_path.Cache.TryGetEntry<CapturedResponse>(key, out var stored, out var freshness, count: false) || !_path.CanAnswer(stored, context, state))
        {
            return false;
        }

        if (freshness.IsFresh)
        {
            counters.Memoized();
            await _path.ReplayAsync(context, stored, CacheStatus.Hit, stored: true).ConfigureAwait(false);
            return true;
        }

        var health = state.Health!;
        if (freshness.CanRevalidate)
        {
            // While the endpoint fails, no refresh starts but the one probe per rest.
            if (health.MayTry(_path.Time.GetTimestamp(), RestTicks(state)))
            {
                TryStartRefresh(context, state, key, stored);
            }

            counters.ServedStale(onError: false, ranEndpoint: false);
            await _path.ReplayAsync(context, stored, CacheStatus.Stale(freshness.Stale, onError: false, failedStatus: null), stored: true).ConfigureAwait(false);
            return true;
        }

        if (freshness.CanServeOnError && !health.MayTry(_path.Time.GetTimestamp(), RestTicks(state)))
        {
            // The endpoint is failing: don't send requests to it that a stale response can answer.
            counters.ServedStale(onError: true, ranEndpoint: false);
            await _path.ReplayAsync(context, stored, CacheStatus.Stale(freshness.Stale, onError: true, failedStatus: null), stored: true).ConfigureAwait(false);
            return true;
        }

        return false;
    }

    /// <summary>
    /// A memoized response that may stand in for a failure of <paramref name="key"/>'s execution now, or
    /// <see langword="null"/>. Looked up when the failure happens, so one invalidated meanwhile is not used.
    /// </summary>
    public CapturedResponse? FindForError(HttpContext context, EndpointState state, string key, out TimeSpan stale)
    {
        stale = default;
        if (state.Policy.StaleIfError <= TimeSpan.Zero || context.Features.Get<RefreshRequest>() is not null ||
            !_path.ScaleOut.ServesLocalCopies(state) ||
            !_path.Cache.TryGetEntry<CapturedResponse>(key, out var stored, out var freshness, count: false) ||
            !freshness.CanServeOnError || !_path.CanAnswer(stored, context, state))
        {
            return null;
        }

        stale = freshness.Stale;
        return stored;
    }

    /// <summary>Answers with <paramref name="stale"/> instead of a failure.</summary>
    public Task ServeOnErrorAsync(
        HttpContext context, CapturedResponse stale, TimeSpan staleFor, ExecutionCounters counters, bool ranEndpoint, int? failedStatus)
    {
        counters.ServedStale(onError: true, ranEndpoint);
        return _path.ReplayAsync(context, stale, CacheStatus.Stale(staleFor, onError: true, failedStatus), stored: true, evenIfTimedOut: ranEndpoint && IsTimedOut(context));
    }

    /// <summary>For endpoints with stale windows: whether the endpoint's status counts as a failure.</summary>
    public void RecordStatus(HttpContext context, EndpointState state)
    {
        if (state.Health is not null && !context.RequestAborted.IsCancellationRequested)
        {
            var status = context.Response.StatusCode;
            RecordHealth(state, failed: status >= 500, $"status {status}");
        }
    }

    /// <summary>
    /// Records how an execution of an endpoint with stale windows went: a failure (an exception, a 5xx, a timeout)
    /// makes it rest, a success ends the rest. Logs the turns, not every failure: one warning when it starts failing.
    /// </summary>
    public void RecordHealth(EndpointState state, bool failed, string? failure = null, Exception? error = null)
    {
        if (state.Health is not { } health)
        {
            return;
        }

        if (!failed)
        {
            if (health.Succeeded())
            {
                CoalescingLog.EndpointRecovered(_path.Logger, state.Name);
            }

            return;
        }

        if (health.Failed(_path.Time.GetTimestamp(), RestTicks(state)))
        {
            CoalescingLog.EndpointFailing(_path.Logger, error, state.Name, failure ?? "failed", StaleRest(state));
        }
        else
        {
            CoalescingLog.EndpointStillFailing(_path.Logger, state.Name, failure ?? "failed");
        }
    }

    /// <summary>Whether ASP.NET's request timeout (not the client) ended the request.</summary>
    public static bool IsTimedOut(HttpContext context) =>
        context.Features.Get<IHttpRequestTimeoutFeature>() is { } timeout && timeout.RequestTimeoutToken.IsCancellationRequested;

    /// <summary>
    /// Puts the leader's response back as it was when the leader entered (headers set outside stay), so a stale
    /// response can be written instead of what the endpoint produced.
    /// </summary>
    public static void ResetResponse(HttpContext context, KeyValuePair<string, StringValues>[]? entryHeaders)
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

    /// <summary>How long a failing endpoint rests: its time to live, at most <see cref="MaxStaleRest"/>.</summary>
    private static TimeSpan StaleRest(EndpointState state) =>
        state.Policy.MemoizeTtl is { } ttl && ttl < MaxStaleRest ? ttl : MaxStaleRest;

    private long RestTicks(EndpointState state) => (long)(StaleRest(state).TotalSeconds * _path.Time.TimestampFrequency);

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
                CoalescingLog.TagsFailed(_path.Logger, ex, state.Name);
            }

            return;
        }

        var counters = state.CountersFor(context.Request.Method);
        counters.Stale.RefreshStarted();
        CoalescingLog.RefreshStarted(_path.Logger, state.Name);

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
                if (!flight.TryLead(_path.Calls, out _))
                {
                    // An execution for the key is running already; what it renders replaces the stale response.
                    return;
                }

                await _lead(context, state, flight, new ExecutionCounters(endpointCounters)).ConfigureAwait(false);
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
                else if (_path.Cache.TryGetEntry<CapturedResponse>(key, out var current, out _, count: false) && ReferenceEquals(current, stale))
                {
                    // The endpoint answered, but not with something to keep (a 404, no-store, a cookie): the stale
                    // response no longer says what the endpoint would, so it goes.
                    // This instance's own judgement of its own stale copy: not an invalidation for the others.
                    await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => _path.Cache.DeleteAsync(key)).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (!_stopping.IsCancellationRequested)
        {
            // Logged by the execution itself (the leader records the endpoint's health); counted here.
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
