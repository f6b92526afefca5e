using System.Diagnostics;
using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;
using Coalesce.Resilience;

namespace Coalesce.AspNetCore;

/// <summary>
/// The app's instruments on the <c>Coalesce</c> meter, created from the app's <see cref="IMeterFactory"/>: inbound
/// requests (<c>coalesce.server.*</c>, tagged <c>http.request.method</c> and <c>http.route</c>) and outbound calls
/// (<c>coalesce.client.*</c>, tagged <c>coalesce.client.name</c> and <c>http.request.method</c>) are separate
/// instruments, each counted once per request or call with a <c>coalesce.result</c>; there is no all-endpoints
/// series beside the per-endpoint ones, so sums never double-count. The <c>/_coalesce/stats</c> figures come from
/// the registry, not from here. docs/metrics-and-stats.md in the repository lists every instrument.
/// </summary>
internal sealed class CoalescingMetrics
{
    public const string Hit = "hit";
    public const string Shared = "shared";
    public const string Miss = "miss";
    public const string Bypass = "bypass";
    public const string Stale = "stale";
    public const string StaleIfError = "stale_if_error";

    /// <summary>OpenTelemetry's <c>error.type</c> when the exception type is not known where the failure is counted.</summary>
    public const string OtherError = "_OTHER";

    public const string MethodTag = "http.request.method";
    public const string RouteTag = "http.route";
    public const string ClientNameTag = "coalesce.client.name";
    public const string InputTag = "coalesce.input";
    public const string IdempotencyResultTag = "coalesce.idempotency.result";

    private readonly Counter<long> _serverRequests;
    private readonly Histogram<double> _serverExecution;
    private readonly Histogram<double> _serverWait;
    private readonly UpDownCounter<long> _serverActive;
    private readonly Counter<long> _serverRefreshes;
    private readonly Counter<long> _serverRefusals;
    private readonly Counter<long> _serverIdempotent;
    private readonly Counter<long> _clientCalls;
    private readonly Histogram<double> _clientExecution;
    private readonly Histogram<double> _clientWait;
    private readonly UpDownCounter<long> _clientActive;

    public CoalescingMetrics(Meter meter)
    {
        var seconds = new InstrumentAdvice<double> { HistogramBucketBoundaries = CoalesceMeter.DurationBuckets };
        _serverRequests = meter.CreateCounter<long>("coalesce.server.requests", "{request}",
            "Coalescable requests, each counted once by coalesce.result: hit (memoized response), shared (answered by another request's execution), miss (ran the endpoint for others to share), bypass (ran the endpoint alone), stale (a memoized response past its time to live, served while a refresh runs), stale_if_error (a memoized response past its time to live, served instead of a failure).");
        _serverExecution = meter.CreateHistogram("coalesce.server.execution.duration", "s",
            "Time the endpoint ran for a miss or a bypass.", tags: null, seconds);
        _serverWait = meter.CreateHistogram("coalesce.server.wait.duration", "s",
            "Time a shared request waited for the execution that answered it.", tags: null, seconds);
        _serverActive = meter.CreateUpDownCounter<long>("coalesce.server.active_executions", "{execution}",
            "Endpoint executions (misses and bypasses) in progress.");
        _serverRefreshes = meter.CreateCounter<long>("coalesce.server.refreshes", "{refresh}",
            "Background refreshes of stale memoized responses, counted when they end; error.type is set on those that failed (the stale response stayed).");
        _serverRefusals = meter.CreateCounter<long>("coalesce.server.refusals", "{request}",
            "Responses not shared with a request because an input they were computed from outside the key (coalesce.input: header:X-Tenant, connection:remote-address, ...) has another value in it.");
        _serverIdempotent = meter.CreateCounter<long>("coalesce.server.idempotent_requests", "{request}",
            "Keyed requests to idempotent endpoints, each counted once by coalesce.idempotency.result: claimed (ran the endpoint under its key), replayed (answered with its key's stored response), conflict (409: its key's first request still ran), mismatch (422: its key came with another request), rejected (400: a required key missing, or a malformed key).");
        _clientCalls = meter.CreateCounter<long>("coalesce.client.calls", "{call}",
            "Outbound calls through a coalescing HttpClient, each counted once by coalesce.result: hit, shared, miss or bypass.");
        _clientExecution = meter.CreateHistogram("coalesce.client.execution.duration", "s",
            "Time an outbound execution (a miss or a bypass) took, retries and fallbacks included.", tags: null, seconds);
        _clientWait = meter.CreateHistogram("coalesce.client.wait.duration", "s",
            "Time a shared outbound call waited for the execution that answered it.", tags: null, seconds);
        _clientActive = meter.CreateUpDownCounter<long>("coalesce.client.active_executions", "{execution}",
            "Outbound executions in progress.");
        Resilience = new ResilienceMetrics(meter);
    }

    /// <summary>Retries, fallbacks, rate limiting and failures of the app's HttpClients.</summary>
    public ResilienceMetrics Resilience { get; }

    /// <summary>Whether a request's arrival time is worth reading: someone listens to the wait histogram.</summary>
    public bool MeasuresWaits => _serverWait.Enabled;

    /// <summary>Whether an execution's start time is worth reading: someone listens to the execution histogram.</summary>
    public bool MeasuresExecutions => _serverExecution.Enabled;

    /// <param name="endpoint">The request's endpoint.</param>
    /// <param name="result">Its <c>coalesce.result</c>.</param>
    /// <param name="waitStartedAt">When its wait began (a <see cref="Stopwatch"/> timestamp), or 0 when not read.</param>
    public void ServerAnswered(EndpointCounters endpoint, string result, long waitStartedAt)
    {
        // Nothing is built for instruments nobody listens to: every request passes here, most with no listener.
        if (_serverRequests.Enabled)
        {
            _serverRequests.Add(1, endpoint.Tags(result));
        }

        if (result == Shared && waitStartedAt != 0 && _serverWait.Enabled)
        {
            _serverWait.Record(Stopwatch.GetElapsedTime(waitStartedAt).TotalSeconds, endpoint.Tags());
        }
    }

    public void IdempotentRequest(EndpointCounters endpoint, string result)
    {
        if (_serverIdempotent.Enabled)
        {
            var tags = endpoint.Tags();
            tags.Add(IdempotencyResultTag, result);
            _serverIdempotent.Add(1, tags);
        }
    }

    public void ServerRefreshed(EndpointCounters endpoint, string? errorType)
    {
        var tags = endpoint.Tags();
        if (errorType is not null)
        {
            tags.Add(CoalesceMeter.ErrorTypeTag, errorType);
        }

        _serverRefreshes.Add(1, tags);
    }

    /// <summary>A response not shared with a request of <paramref name="endpoint"/> because its <paramref name="input"/> differed (rare: no cost when nobody listens).</summary>
    public void ServerRefused(EndpointCounters endpoint, RequestInput input)
    {
        if (_serverRefusals.Enabled)
        {
            var tags = endpoint.Tags();
            tags.Add(InputTag, input.ToString());
            _serverRefusals.Add(1, tags);
        }
    }

    /// <summary>Counts an execution in progress; returns whether it did, for <see cref="ServerCompleted"/> to undo.</summary>
    public bool ServerStarted(EndpointCounters endpoint)
    {
        if (!_serverActive.Enabled)
        {
            return false;
        }

        _serverActive.Add(1, endpoint.Tags());
        return true;
    }

    /// <param name="endpoint">The request's endpoint.</param>
    /// <param name="result">Its <c>coalesce.result</c>.</param>
    /// <param name="startedAt">When the execution started (a <see cref="Stopwatch"/> timestamp), or 0 when not read.</param>
    /// <param name="failed">Whether the execution failed.</param>
    /// <param name="countedActive">What <see cref="ServerStarted"/> returned for it, so the two always balance.</param>
    public void ServerCompleted(EndpointCounters endpoint, string result, long startedAt, bool failed, bool countedActive)
    {
        if (countedActive)
        {
            _serverActive.Add(-1, endpoint.Tags());
        }

        var measure = startedAt != 0 && _serverExecution.Enabled;
        if (!measure && !_serverRequests.Enabled)
        {
            return;
        }

        var tags = endpoint.Tags(result);
        if (failed)
        {
            tags.Add(CoalesceMeter.ErrorTypeTag, OtherError);
        }

        _serverRequests.Add(1, tags);
        if (measure)
        {
            _serverExecution.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
        }
    }

    public void ClientAnswered(HttpClientCounters client, string method, string result, long startedAt)
    {
        _clientCalls.Add(1, client.Tags(method, result));
        if (result == Shared && _clientWait.Enabled)
        {
            _clientWait.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, client.Tags(method));
        }
    }

    public void ClientStarted(HttpClientCounters client, string method) => _clientActive.Add(1, client.Tags(method));

    public void ClientCompleted(HttpClientCounters client, string method, string result, long startedAt, Exception? error)
    {
        _clientActive.Add(-1, client.Tags(method));
        var tags = client.Tags(method, result);
        if (error is not null)
        {
            tags.Add(CoalesceMeter.ErrorTypeTag, error.GetType().FullName);
        }

        _clientCalls.Add(1, tags);
        if (_clientExecution.Enabled)
        {
            _clientExecution.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
        }
    }

    /// <summary>A failure of a shared outbound execution, seen by a caller that waited for it.</summary>
    public void ClientSharedFailed(HttpClientCounters client, string method, long startedAt, Exception error)
    {
        var tags = client.Tags(method, Shared);
        tags.Add(CoalesceMeter.ErrorTypeTag, error.GetType().FullName);
        _clientCalls.Add(1, tags);
        if (_clientWait.Enabled)
        {
            _clientWait.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, client.Tags(method));
        }
    }
}
