using System.Buffers;
using System.Net;
using System.Threading.RateLimiting;
using Coalesce.Resilience;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.RateLimiting;
using Polly.Retry;
using Polly.Timeout;

namespace Coalesce.AspNetCore;

/// <summary>One call's attempts: the resilience pipeline, the fallback addresses, and buffering what is shared.</summary>
internal sealed partial class HttpCoalescingClient
{
    /// <summary>
    /// Runs the resilience pipeline for one call. Sends <paramref name="original"/> itself when there is no
    /// <paramref name="snapshot"/> (a call that can only be sent once), otherwise a fresh copy per attempt and address.
    /// </summary>
    private async Task<HttpResponseMessage> ExecuteAsync(
        HttpRequestSnapshot? snapshot, HttpRequestMessage? original, bool resendable, bool buffer,
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        var own = OwnsResilience;
        var errors = new List<Exception>();
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Resendable, resendable);
        try
        {
            return await (own ? _ownPipeline : _steppedAsidePipeline).ExecuteAsync(
                ctx => FallbackExecutor.ExecuteAsync(
                    _addresses,
                    (address, token) => AttemptAsync(ctx, snapshot?.CreateRequest(address) ?? original!, buffer, own, send, token),
                    errors,
                    outcome => CanTryNextAddressAsync(ctx, outcome, resendable),
                    HttpAllAttemptsFailedException.FailedStatus,
                    OnFallback,
                    ctx.CancellationToken),
                context).ConfigureAwait(false);
        }
        catch (RateLimiterRejectedException rejected)
        {
            throw rejected.ToCoalesce(Name);
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && cancellationToken.IsCancellationRequested) && WrapsFailures(own))
        {
            if (ex is TimeoutRejectedException || await _isFailure(new(context, Outcome.FromException<HttpResponseMessage>(ex), 0)).ConfigureAwait(false))
            {
                throw new HttpAllAttemptsFailedException(FallbackExecutor.AllErrors(errors, ex, Name, _resilience, Component, _logger));
            }

            throw;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Whether a failed call is reported as <see cref="HttpAllAttemptsFailedException"/>: only when Coalesce itself
    /// made the attempts (retry, a timeout, more than one address) or has a fallback response for it. Coalescing
    /// alone, or beside another resilience handler without fallback addresses, lets the network's exception through
    /// as it was thrown.
    /// </summary>
    private bool WrapsFailures(bool own) =>
        _addresses.Length > 1 || _options.FallbackResponse is not null ||
        (own && (_options.Retry is not null || _options.AttemptTimeout is not null || _options.TotalTimeout is not null));

    private ValueTask<bool> CanTryNextAddressAsync(ResilienceContext context, Outcome<HttpResponseMessage> outcome, bool resendable)
    {
        if (!resendable)
        {
            return new(IsConnectionFailure(outcome.Exception));
        }

        return _isFailure(new(context, outcome, 0));
    }

    private ValueTask<HttpResponseMessage> AttemptAsync(
        ResilienceContext context, HttpRequestMessage request, bool buffer, bool own,
        Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        // Predicates such as DisableForUnsafeHttpMethods read the request from the context, as in a ResilienceHandler.
        context.SetRequestMessage(request);
        if (_attemptTimeout is null || !own)
        {
            return new(SendOnceAsync(request, buffer, send, cancellationToken));
        }

        return _attemptTimeout.ExecuteAsync(
            static async (state, token) => await state.Self.SendOnceAsync(state.request, state.buffer, state.send, token).ConfigureAwait(false),
            (Self: this, request, buffer, send),
            cancellationToken);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(
        HttpRequestMessage request, bool buffer, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        var response = await send(request, cancellationToken).ConfigureAwait(false);
        try
        {
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

    /// <summary>The request never reached the server, so even an unsafe request may go to the next address.</summary>
    private static bool IsConnectionFailure(Exception? exception) =>
        exception is HttpRequestException
        {
            HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError,
        };

    private void OnFallback(int index, Exception error)
    {
        _counters.FellBack();
        _resilience?.Fallback(Component, Name);
        HttpCoalescingLog.FallingBackToAddress(_logger, Name, index + 1, _addresses.Length, error);
    }

    /// <summary>
    /// The user's retry options as given (backoff, jitter, <c>Retry-After</c> through its delay generator, its
    /// predicate and callback), plus what only Coalesce knows: a request that cannot be resent is never retried, and
    /// retries show in the client's stats and the Coalesce meter.
    /// </summary>
    private RetryStrategyOptions<HttpResponseMessage> RetryOptions(HttpRetryStrategyOptions retry) => new()
    {
        Name = "coalesce-retry",
        MaxRetryAttempts = retry.MaxRetryAttempts,
        BackoffType = retry.BackoffType,
        UseJitter = retry.UseJitter,
        Delay = retry.Delay,
        MaxDelay = retry.MaxDelay,
        DelayGenerator = retry.DelayGenerator,
        Randomizer = retry.Randomizer,
        ShouldHandle = args => args.Context.Properties.GetValue(Resendable, false) ? retry.ShouldHandle(args) : new(false),
        OnRetry = args =>
        {
            _counters.Retried();
            _resilience?.Retry(Component, Name);
            ResilienceLog.Retrying(
                _logger, Name, args.AttemptNumber + 1, args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception,
                args.Outcome.Result is { } response ? $"status {(int)response.StatusCode}" : null);
            return retry.OnRetry?.Invoke(args) ?? default;
        },
    };
}
