using System.Diagnostics;
using System.Net;
using System.Threading.RateLimiting;
using Coalesce.Resilience;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Coalesce.AspNetCore;

/// <summary>
/// The engine of one named coalescing HttpClient, shared by every handler the factory builds for that name (so
/// coalescing, the rate limit and the stats span handler rotation). Built once from a snapshot of the options.
/// </summary>
/// <remarks>
/// <para>
/// Outermost first: coalescing (<see cref="SharedCall"/>) → memoization (<see cref="MemoCache"/>) → rate limit
/// (Polly.RateLimiting) → total timeout → retry (Polly strategies configured with Microsoft.Extensions.Http.Resilience's
/// options) → fallback over base addresses (<see cref="FallbackExecutor"/>) → attempt timeout → network.
/// </para>
/// <para>
/// The base-address fallback is ours rather than Microsoft.Extensions.Http.Resilience's hedging with ordered groups:
/// its routing strategies are reachable only through <c>AddStandardHedgingHandler</c>, a handler of its own with
/// its own retries (hedged attempts), which would put a second retry loop around or inside ours — exactly the
/// multiplication this handler avoids — and hedging tries the next address per hedged attempt rather than "every
/// address in order within one retry attempt". A short loop on Polly outcomes keeps that order and counts it as
/// one attempt.
/// </para>
/// <para>
/// When another resilience handler shares the client (<see cref="OtherResilienceHandler"/>), retry and both timeouts
/// step aside and that handler owns them; the rate limit and the base addresses stay.
/// </para>
/// </remarks>
internal sealed partial class HttpCoalescingClient : IDisposable
{
    /// <summary>The <c>coalesce.component</c> of this client's resilience counters.</summary>
    internal const string Component = "http_client";

    private static readonly ResiliencePropertyKey<bool> Resendable = new("coalesce.http.resendable");

    private readonly HttpCoalescingOptions _options;
    private readonly HttpClientCounters _counters;
    private readonly ResilienceMetrics? _resilience;
    private readonly SharedCall _flights;
    private readonly MemoCache _cache;
    private readonly ILogger _logger;
    private readonly RateLimiter? _limiter;
    private readonly ResiliencePipeline<HttpResponseMessage> _ownPipeline;
    private readonly ResiliencePipeline<HttpResponseMessage> _steppedAsidePipeline;
    private readonly ResiliencePipeline? _attemptTimeout;
    private readonly Func<RetryPredicateArguments<HttpResponseMessage>, ValueTask<bool>> _isFailure;
    private readonly Uri?[] _addresses;
    private readonly HttpRequestKey _key;
    private readonly string _memoPrefix;
    private readonly EntrySettings _memo;
    private string? _otherResilienceHandler;

    public HttpCoalescingClient(
        string name, HttpCoalescingOptions options, CoalescingStatsRegistry registry, MemoCache cache, TimeProvider time, ILoggerFactory loggerFactory)
    {
        Name = name;
        _options = options;
        _counters = registry.HttpClient(name);
        _resilience = registry.Metrics?.Resilience;
        _flights = new SharedCall(_counters.Flights);
        _cache = cache;
        _logger = loggerFactory.CreateLogger("Coalesce.AspNetCore.HttpClient");
        _addresses = [null, .. options.FallbackBaseAddresses];
        _key = new HttpRequestKey(options.IgnoreHeaders, options.IgnoreRequestOptions);
        _memoPrefix = $"http:{name}:";
        _memo = new EntrySettings(
            options.MemoizeTtl,
            [.. options.MemoizeTags],
            options.MemoizeStaleWhileRevalidate ?? TimeSpan.Zero,
            options.MemoizeStaleIfError ?? TimeSpan.Zero,
            options.MemoizeSoftTimeout);
        _isFailure = options.Retry?.ShouldHandle ?? (args => new(HttpClientResiliencePredicates.IsTransient(args.Outcome)));
        if (options.RateLimit is { } rateLimit)
        {
            _limiter = new WindowRateLimiter(rateLimit.PermitsPerSecond, rateLimit.QueueLimit, time);
        }

        _ownPipeline = Build(time, loggerFactory, ownResilience: true);
        _steppedAsidePipeline = Build(time, loggerFactory, ownResilience: false);
        if (options.AttemptTimeout is { } attempt)
        {
            _attemptTimeout = new ResiliencePipelineBuilder { Name = "coalesce-http-attempt", InstanceName = name, TimeProvider = time }
                .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = attempt, Name = "coalesce-attempt-timeout" })
                .ConfigureTelemetry(loggerFactory)
                .Build();
        }
    }

    public string Name { get; }

    /// <summary>
    /// The type name of another resilience handler in this client's handler chain, or <see langword="null"/> when there
    /// is none; set when the factory builds the chain (see <see cref="ResilienceHandlerDetector"/>).
    /// </summary>
    public string? OtherResilienceHandler
    {
        get => Volatile.Read(ref _otherResilienceHandler);
        set
        {
            if (value is not null && Interlocked.Exchange(ref _otherResilienceHandler, value) is null)
            {
                HttpCoalescingLog.SteppingAside(_logger, Name, value);
            }
        }
    }

    public void Dispose() => _limiter?.Dispose();

    /// <summary>Sends <paramref name="request"/> through the pipeline; <paramref name="send"/> is the next handler.</summary>
    public async Task<HttpResponseMessage> SendAsync(
        HttpRequestMessage request, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            return IsCoalescable(request)
                ? await SendSharedAsync(request, send, cancellationToken).ConfigureAwait(false)
                : await SendAloneAsync(request, send, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpAllAttemptsFailedException failed) when (_options.FallbackResponse is not null)
        {
            _counters.FellBack();
            _resilience?.Fallback(Component, Name);
            HttpCoalescingLog.FallbackResponse(_logger, Name, failed);
            var response = _options.FallbackResponse(request, failed)
                ?? throw new InvalidOperationException($"The FallbackResponse of HttpClient '{Name}' returned null.", failed);
            response.RequestMessage ??= request;
            return response;
        }
    }

    private bool OwnsResilience => OtherResilienceHandler is null;

    private bool IsCoalescable(HttpRequestMessage request) =>
        _options.Coalesce && request.Content is null && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head);

    private static bool IsSafe(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options || method == HttpMethod.Trace;

    private ResiliencePipeline<HttpResponseMessage> Build(TimeProvider time, ILoggerFactory loggerFactory, bool ownResilience)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>
        {
            Name = ownResilience ? "coalesce-http" : "coalesce-http-stepped-aside",
            InstanceName = Name,
            TimeProvider = time,
        };
        if (_limiter is not null)
        {
            builder.AddCoalesceRateLimiter(_limiter, Name, _logger, _resilience, Component);
        }

        if (ownResilience && _options.TotalTimeout is { } total)
        {
            builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = total, Name = "coalesce-total-timeout" });
        }

        if (ownResilience && _options.Retry is { } retry)
        {
            builder.AddRetry(RetryOptions(retry));
        }

        return builder.ConfigureTelemetry(loggerFactory).Build();
    }

    private async Task<HttpResponseMessage> SendSharedAsync(
        HttpRequestMessage request, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        var key = _key.Build(request);
        var memoKey = _options.MemoizeTtl is not null && request.Method == HttpMethod.Get ? _memoPrefix + key : null;
        var freshness = default(EntryFreshness);
        if (memoKey is not null && _cache.TryGetEntry<BufferedHttpResponse>(memoKey, out var memoized, out freshness) &&
            (freshness.IsFresh || freshness.CanRevalidate))
        {
            if (!freshness.IsFresh)
            {
                // Stale while revalidate: this caller is answered now, and one background call refreshes the entry.
                var refresh = new Refresh(this, HttpRequestSnapshot.WithoutContent(request), memoKey, send);
                _cache.ServeStaleAndRevalidate(_flights, key, memoKey, refresh, static (r, token) => r.RunAsync(token), Refresh.Failure);
            }

            _counters.Flights.Hit();
            _counters.Metrics?.ClientAnswered(_counters, request.Method.Method, CoalescingMetrics.Hit, startedAt: 0);
            return memoized.ToResponse(request);
        }

        var snapshot = HttpRequestSnapshot.WithoutContent(request);
        var method = request.Method.Method;
        var metrics = _counters.Metrics;
        var startedAt = Stopwatch.GetTimestamp();
        var led = false;
        HttpFlightResult result;
        try
        {
            // A stale entry this caller may be answered with on error: a soft timeout lets it leave the flight early, so
            // its place in the flight lasts as long as the cache (its own token still ends its wait).
            var keepsFlight = freshness.CanServeOnError && _memo.SoftTimeout is not null;
            var flight = _flights.CallAsync(
                key,
                token =>
                {
                    // Runs only for the caller that executes the flight: the others share its result.
                    led = true;
                    metrics?.ClientStarted(_counters, method);
                    return RunFlightAsync(snapshot, memoKey, send, token);
                },
                keepsFlight ? _cache.Disposing : cancellationToken);
            result = freshness.CanServeOnError
                ? await _cache.AwaitOrServeStaleAsync<BufferedHttpResponse, HttpFlightResult>(
                    flight, memoKey!, _memo.SoftTimeout, IsServerError, static stale => new HttpFlightResult(stale), ReleaseUnused, cancellationToken).ConfigureAwait(false)
                : await flight.ConfigureAwait(false);
        }
        catch (Exception ex) when (metrics is not null)
        {
            var error = ex is OperationCanceledException && cancellationToken.IsCancellationRequested ? null : ex;
            if (led)
            {
                metrics.ClientCompleted(_counters, method, CoalescingMetrics.Miss, startedAt, error);
            }
            else if (error is not null)
            {
                metrics.ClientSharedFailed(_counters, method, startedAt, error);
            }

            throw;
        }

        if (led)
        {
            metrics?.ClientCompleted(_counters, method, CoalescingMetrics.Miss, startedAt, error: null);
        }

        if (result.Buffered is { } buffered)
        {
            if (!led)
            {
                metrics?.ClientAnswered(_counters, method, CoalescingMetrics.Shared, startedAt);
            }

            return buffered.ToResponse(request);
        }

        if (result.TakeStreamed() is { } streamed)
        {
            if (!led)
            {
                metrics?.ClientAnswered(_counters, method, CoalescingMetrics.Shared, startedAt);
            }

            streamed.RequestMessage = request;
            return streamed;
        }

        // The flight's body was too large to share and another caller took it: this caller makes its own call.
        return await SendAloneAsync(request, send, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A 5xx from the backend: with a stale entry in its stale-if-error window, callers get that instead.</summary>
    private static bool IsServerError(HttpFlightResult result) => result.Buffered is { StatusCode: >= HttpStatusCode.InternalServerError };

    /// <summary>A result a caller answered with a stale entry did not use: a streamed response nobody else takes is freed.</summary>
    private static void ReleaseUnused(HttpFlightResult result) => result.TakeStreamed()?.Dispose();

    private async Task<HttpFlightResult> RunFlightAsync(
        HttpRequestSnapshot snapshot, string? memoKey, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        // Read before the call: an invalidation of the client's tags during it keeps the response from being memoized.
        var since = _cache.InvalidationVersion;
        var response = await ExecuteAsync(snapshot, original: null, resendable: true, buffer: true, send, cancellationToken).ConfigureAwait(false);
        if (response.Content is not BufferedContent content)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // Every caller has left, so nobody would take the streamed response and free its connection.
                response.Dispose();
                cancellationToken.ThrowIfCancellationRequested();
            }

            HttpCoalescingLog.ResponseNotShared(_logger, Name, _options.MaxResponseBodyBytes);
            return new HttpFlightResult(response);
        }

        var buffered = BufferedHttpResponse.From(response, content.Body);
        response.Dispose();
        if (memoKey is not null && response.IsSuccessStatusCode && !buffered.SetsCookie)
        {
            _cache.StoreFetched(since, memoKey, buffered, _memo);
        }

        return new HttpFlightResult(buffered);
    }

    private async Task<HttpResponseMessage> SendAloneAsync(
        HttpRequestMessage request, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        _counters.Flights.Started();
        var metrics = _counters.Metrics;
        var method = request.Method.Method;
        var startedAt = Stopwatch.GetTimestamp();
        metrics?.ClientStarted(_counters, method);
        var failed = true;
        Exception? error = null;
        try
        {
            var resendable = IsSafe(request.Method) || _options.RetryUnsafeMethods;
            var snapshot = (resendable && _options.Retry is not null && OwnsResilience) || _addresses.Length > 1
                ? await HttpRequestSnapshot.CreateAsync(request, cancellationToken).ConfigureAwait(false)
                : null;
            var response = await ExecuteAsync(snapshot, request, resendable, buffer: false, send, cancellationToken).ConfigureAwait(false);
            response.RequestMessage = request;
            failed = false;
            return response;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            failed = false;
            throw;
        }
        catch (Exception ex)
        {
            error = ex;
            throw;
        }
        finally
        {
            _counters.Flights.Completed(failed);
            metrics?.ClientCompleted(_counters, method, CoalescingMetrics.Bypass, startedAt, error);
        }
    }

    /// <summary>
    /// The background call that refreshes a stale memoized response: the original request's snapshot, sent through the
    /// same pipeline (retry, timeouts, fallback addresses) with a token that ends with the app's cache, not with the
    /// caller that triggered it.
    /// </summary>
    private sealed class Refresh(HttpCoalescingClient client, HttpRequestSnapshot snapshot, string memoKey, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send)
    {
        public async Task<HttpFlightResult> RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                var result = await client.RunFlightAsync(snapshot, memoKey, send, cancellationToken).ConfigureAwait(false);
                if (result.Buffered is { } response && !IsSuccess(response))
                {
                    HttpCoalescingLog.RefreshFailed(client._logger, client.Name, $"status {(int)response.StatusCode}", error: null);
                }

                return result;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                HttpCoalescingLog.RefreshFailed(client._logger, client.Name, ex.GetType().Name, ex);
                throw;
            }
        }

        /// <summary>
        /// Why a finished refresh kept nothing: a status other than 2xx is reported as a failure (the stale entry stays).
        /// A streamed response (too large to keep) is freed, as no caller waits for it.
        /// </summary>
        public static HttpRequestException? Failure(HttpFlightResult result)
        {
            result.TakeStreamed()?.Dispose();
            return result.Buffered is { } response && !IsSuccess(response)
                ? new HttpRequestException($"Refreshing a memoized response got status {(int)response.StatusCode}; the stale response stays.", null, response.StatusCode)
                : null;
        }
    }

    private static bool IsSuccess(BufferedHttpResponse response) => (int)response.StatusCode is >= 200 and <= 299;

    /// <summary>A body read to the end and small enough to share.</summary>
    private sealed class BufferedContent(byte[] body) : ByteArrayContent(body)
    {
        public byte[] Body { get; } = body;
    }
}
