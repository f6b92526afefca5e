using System.Buffers;
using System.Net;
using System.Threading.RateLimiting;
using Coalesce.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Coalesce.AspNetCore;

/// <summary>
/// The engine of one named coalescing HttpClient, shared by every handler the factory builds for that name (so
/// coalescing, the rate limit and the stats span handler rotation). Built once from a snapshot of the options.
/// </summary>
/// <remarks>
/// Outermost first: coalescing (<see cref="SharedCall"/>) → memoization (<see cref="MemoCache"/>) → rate limit →
/// total timeout → retry → fallback over base addresses (<see cref="FallbackExecutor"/>) → attempt timeout →
/// network. Fallback sits inside retry: one attempt tries every address in order, and the whole list failing is
/// one attempt.
/// </remarks>
internal sealed class HttpCoalescingClient : IDisposable
{
    internal const string Layer = "httpclient";

    private static readonly ResiliencePropertyKey<bool> Resendable = new("coalesce.http.resendable");

    private readonly HttpCoalescingOptions _options;
    private readonly HttpClientCounters _counters;
    private readonly SharedCall _flights;
    private readonly MemoCache _cache;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RateLimiter? _limiter;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly ResiliencePipeline? _attemptTimeout;
    private readonly BackoffDelay _backoff;
    private readonly Uri?[] _addresses;
    private readonly HashSet<HttpStatusCode> _failingStatusCodes;
    private readonly string[] _plainVaryHeaders;
    private readonly bool _varyByCookie;
    private readonly string _memoPrefix;
    private readonly string[] _memoTags;

    public HttpCoalescingClient(
        string name, HttpCoalescingOptions options, CoalescingStatsRegistry registry, MemoCache cache, TimeProvider time, ILogger logger)
    {
        Name = name;
        _options = options;
        _counters = registry.HttpClient(name);
        _flights = new SharedCall(_counters.Flights);
        _cache = cache;
        _time = time;
        _logger = logger;
        _addresses = [null, .. options.FallbackBaseAddresses];
        _failingStatusCodes = [.. options.Retry.StatusCodes];
        _plainVaryHeaders = HttpRequestKey.PlainHeaders(options.VaryByHeaders);
        _varyByCookie = options.VaryByHeaders.Contains("Cookie");
        _memoPrefix = $"http:{name}:";
        _memoTags = [.. options.MemoizeTags];
        _backoff = new BackoffDelay(options.Retry.BaseDelay, options.Retry.MaxDelay, options.Retry.BackoffFactor, options.Retry.UseJitter);

        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = $"coalesce-http-{name}", TimeProvider = time };
        if (options.RateLimit is { } rateLimit)
        {
            _limiter = new WindowRateLimiter(rateLimit.PermitsPerSecond, rateLimit.QueueLimit, time);
            builder.AddCoalesceRateLimiter(_limiter, name, logger, Layer);
        }

        if (options.TotalTimeout is { } total)
        {
            builder.AddTimeout(total);
        }

        if (options.Retry.MaxRetries > 0)
        {
            builder.AddRetry(RetryOptions());
        }

        _pipeline = builder.Build();
        if (options.AttemptTimeout is { } attempt)
        {
            _attemptTimeout = new ResiliencePipelineBuilder { Name = $"coalesce-http-{name}-attempt", TimeProvider = time }.AddTimeout(attempt).Build();
        }
    }

    public string Name { get; }

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
        catch (AllAttemptsFailedException failed) when (_options.FallbackResponse is not null)
        {
            _counters.FellBack();
            ResilienceMetrics.Fallback(Name, Layer);
            HttpCoalescingLog.FallbackResponse(_logger, Name, failed);
            var response = _options.FallbackResponse(request, failed)
                ?? throw new InvalidOperationException($"The FallbackResponse of HttpClient '{Name}' returned null.", failed);
            response.RequestMessage ??= request;
            return response;
        }
    }

    private bool IsCoalescable(HttpRequestMessage request) =>
        _options.Coalesce && request.Content is null && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head);

    private static bool IsSafe(HttpMethod method) =>
        method == HttpMethod.Get || method == HttpMethod.Head || method == HttpMethod.Options || method == HttpMethod.Trace;

    private async Task<HttpResponseMessage> SendSharedAsync(
        HttpRequestMessage request, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        var key = HttpRequestKey.Build(request, _plainVaryHeaders, _varyByCookie);
        var memoKey = _options.MemoizeTtl is not null && request.Method == HttpMethod.Get ? _memoPrefix + key : null;
        if (memoKey is not null && _cache.TryGet<BufferedHttpResponse>(memoKey, out var memoized))
        {
            _counters.Flights.Hit();
            return memoized.ToResponse(request);
        }

        var snapshot = HttpRequestSnapshot.WithoutContent(request);
        var result = await _flights.CallAsync(key, token => RunFlightAsync(snapshot, memoKey, send, token), cancellationToken).ConfigureAwait(false);
        if (result.Buffered is { } buffered)
        {
            return buffered.ToResponse(request);
        }

        if (result.TakeStreamed() is { } streamed)
        {
            streamed.RequestMessage = request;
            return streamed;
        }

        // The flight's body was too large to share and another caller took it: this caller makes its own call.
        return await SendAloneAsync(request, send, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpFlightResult> RunFlightAsync(
        HttpRequestSnapshot snapshot, string? memoKey, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
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
            await _cache.SetAsync(memoKey, buffered, _options.MemoizeTtl, _memoTags, CancellationToken.None).ConfigureAwait(false);
        }

        return new HttpFlightResult(buffered);
    }

    private async Task<HttpResponseMessage> SendAloneAsync(
        HttpRequestMessage request, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        _counters.Flights.Started();
        var failed = true;
        try
        {
            var resendable = IsSafe(request.Method) || _options.Retry.RetryUnsafeMethods;
            var snapshot = (resendable && _options.Retry.MaxRetries > 0) || _addresses.Length > 1
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
        finally
        {
            _counters.Flights.Completed(failed);
        }
    }

    /// <summary>
    /// Runs the resilience pipeline for one call. Sends <paramref name="original"/> itself when there is no
    /// <paramref name="snapshot"/> (a call that can only be sent once), otherwise a fresh copy per attempt and address.
    /// </summary>
    private async Task<HttpResponseMessage> ExecuteAsync(
        HttpRequestSnapshot? snapshot, HttpRequestMessage? original, bool resendable, bool buffer,
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        var errors = new List<Exception>();
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Resendable, resendable);
        try
        {
            return await _pipeline.ExecuteAsync(
                ctx => FallbackExecutor.ExecuteAsync(
                    _addresses,
                    (address, token) => AttemptAsync(snapshot?.CreateRequest(address) ?? original!, resendable, buffer, send, token),
                    errors,
                    ex => resendable ? IsTransient(ex, ctx.CancellationToken) : IsConnectionFailure(ex),
                    OnFallback,
                    ctx.CancellationToken),
                context).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutRejectedException || (errors.Count > 0 && IsTransient(ex, cancellationToken)))
        {
            throw FallbackExecutor.AllFailed(errors, ex, Name, Layer, _logger);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private ValueTask<HttpResponseMessage> AttemptAsync(
        HttpRequestMessage request, bool resendable, bool buffer,
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        if (_attemptTimeout is null)
        {
            return new(SendOnceAsync(request, resendable, buffer, send, cancellationToken));
        }

        return _attemptTimeout.ExecuteAsync(
            static async (state, token) => await state.Self.SendOnceAsync(state.request, state.resendable, state.buffer, state.send, token).ConfigureAwait(false),
            (Self: this, request, resendable, buffer, send),
            cancellationToken);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(
        HttpRequestMessage request, bool resendable, bool buffer,
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        var response = await send(request, cancellationToken).ConfigureAwait(false);
        try
        {
            if (resendable && _failingStatusCodes.Contains(response.StatusCode))
            {
                // Disposed here, so a retried or discarded response never holds its connection.
                var retryAfter = RetryAfter(response);
                response.Dispose();
                throw new TransientResponseException(response.StatusCode, request.RequestUri, retryAfter);
            }

            if (buffer)
            {
                await BufferAsync(response, cancellationToken).ConfigureAwait(false);
            }

            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the body into memory when it fits <see cref="HttpCoalescingOptions.MaxResponseBodyBytes"/>; otherwise
    /// leaves the response streaming, with any bytes already read put back in front.
    /// </summary>
    private async Task BufferAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var limit = _options.MaxResponseBodyBytes;
        var original = response.Content;
        if (original.Headers.ContentLength > limit)
        {
            return;
        }

        var stream = await original.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var cap = (int)(limit + 1);
        var body = ArrayPool<byte>.Shared.Rent((int)Math.Min(cap, original.Headers.ContentLength + 1 ?? 16 * 1024));
        var length = 0;
        try
        {
            // Reads at most one byte past the limit: enough to know the body does not fit.
            while (length <= limit)
            {
                if (length == body.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(cap, (long)body.Length * 2));
                    body.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(body);
                    body = larger;
                }

                var read = await stream.ReadAsync(body.AsMemory(length, Math.Min(body.Length, cap) - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            if (length > limit)
            {
                var prefix = body.AsSpan(0, length).ToArray();
                response.Content = Replace(original, new StreamContent(new PrefixedStream(prefix, prefix.Length, stream)));
            }
            else
            {
                response.Content = Replace(original, new BufferedContent(body.AsSpan(0, length).ToArray()));
                original.Dispose();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    private static HttpContent Replace(HttpContent original, HttpContent replacement)
    {
        foreach (var (name, values) in original.Headers.NonValidated)
        {
            replacement.Headers.TryAddWithoutValidation(name, values);
        }

        return replacement;
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - _time.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private bool IsTransient(Exception exception, CancellationToken callerToken)
    {
        if (exception is OperationCanceledException && callerToken.IsCancellationRequested)
        {
            return false;
        }

        if (exception is TransientResponseException)
        {
            return true;
        }

        return _options.Retry.ShouldRetryException is { } predicate
            ? predicate(exception)
            : exception is HttpRequestException or TimeoutRejectedException or OperationCanceledException;
    }

    /// <summary>The request never reached the server, so even an unsafe request may go to the next address.</summary>
    private static bool IsConnectionFailure(Exception exception) =>
        exception is HttpRequestException
        {
            HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
        };

    private void OnFallback(int index, Exception error)
    {
        _counters.FellBack();
        ResilienceMetrics.Fallback(Name, Layer);
        HttpCoalescingLog.FallingBackToAddress(_logger, Name, index + 1, _addresses.Length, error);
    }

    private RetryStrategyOptions<HttpResponseMessage> RetryOptions() => new()
    {
        MaxRetryAttempts = _options.Retry.MaxRetries,
        BackoffType = DelayBackoffType.Constant,
        Delay = _options.Retry.BaseDelay,
        UseJitter = false,
        DelayGenerator = args =>
            _options.Retry.HonorRetryAfter && args.Outcome.Exception is TransientResponseException { RetryAfter: { } after }
                ? new(after < _options.Retry.MaxDelay ? after : _options.Retry.MaxDelay)
                : _backoff.Generate(args),
        ShouldHandle = args => new(
            args.Context.Properties.GetValue(Resendable, false) &&
            args.Outcome.Exception is { } ex && IsTransient(ex, args.Context.CancellationToken)),
        OnRetry = args =>
        {
            _counters.Retried();
            ResilienceMetrics.Retry(Name, Layer);
            ResilienceLog.Retrying(_logger, Name, args.AttemptNumber + 1, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception);
            return default;
        },
    };

    /// <summary>A body read to the end and small enough to share.</summary>
    private sealed class BufferedContent(byte[] body) : ByteArrayContent(body)
    {
        public byte[] Body { get; } = body;
    }
}
