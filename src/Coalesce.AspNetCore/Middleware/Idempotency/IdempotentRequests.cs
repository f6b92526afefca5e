using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// The request path of a POST, PUT, PATCH or DELETE to an endpoint with an idempotency policy: reads and checks the
/// key, fingerprints the request, and then answers from the key's kept outcome, waits for or refuses a duplicate of a
/// request still running, or claims the key and runs the endpoint with a <see cref="ResponseCapture"/> in place, keeping
/// what it answered when the policy keeps that outcome. docs/idempotency.md in the repository has the rules.
/// </summary>
internal sealed class IdempotentRequests(RequestPath path, IServiceProvider services)
{
    /// <summary>The response header that marks a replay.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    private const string ReplayStatus = "hit; detail=idempotent-replay";
    private IdempotencyStore? _store;

    private IdempotencyStore Store => _store ??= services.GetRequiredService<IdempotencyStore>();

    /// <summary>Whether <paramref name="method"/> is one idempotency keys apply to: POST, PUT, PATCH or DELETE.</summary>
    public static bool AppliesTo(string method) =>
        HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method);

    public Task InvokeAsync(HttpContext context, EndpointState state, IdempotencyPolicy policy)
    {
        var values = context.Request.Headers[policy.HeaderName];
        if (values.Count == 0)
        {
            if (!policy.RequireKey)
            {
                path.SetCacheStatus(context, CacheStatus.Bypass);
                return path.Next(context);
            }

            state.IdempotencyCountersFor(context.Request.Method).Count(IdempotencyCounters.Rejected);
            return WriteProblemAsync(context, StatusCodes.Status400BadRequest, "Idempotency key required",
                $"This endpoint requires an idempotency key in the {policy.HeaderName} header.");
        }

        if (IdempotencyKey.TryRead(values, policy.HeaderName, out var problem) is not { } key)
        {
            state.IdempotencyCountersFor(context.Request.Method).Count(IdempotencyCounters.Rejected);
            return WriteProblemAsync(context, StatusCodes.Status400BadRequest, "Malformed idempotency key", problem!);
        }

        return RunKeyedAsync(context, state, policy, IdempotencyKey.Scope(context, state, key));
    }

    private async Task RunKeyedAsync(HttpContext context, EndpointState state, IdempotencyPolicy policy, string key)
    {
        var counters = state.IdempotencyCountersFor(context.Request.Method);
        var fingerprint = await RequestFingerprint.ComputeAsync(context, path.Options.IdempotencyBodyMemoryThreshold).ConfigureAwait(false);
        var store = Store;
        while (true)
        {
            if (store.TryGetOutcome(key, out var record))
            {
                await AnswerFromOutcomeAsync(context, counters, record.Matches(fingerprint) ? record.Response : null).ConfigureAwait(false);
                return;
            }

            var mine = new IdempotencyClaim(fingerprint);
            if (store.TryClaim(key, mine, out var holder))
            {
                // A holder keeps its outcome before it frees the key: one may have done so since the look above.
                if (store.TryGetOutcome(key, out record))
                {
                    store.Release(key, mine, kept: null);
                    await AnswerFromOutcomeAsync(context, counters, record.Matches(fingerprint) ? record.Response : null).ConfigureAwait(false);
                    return;
                }

                await RunHereOrAcrossInstancesAsync(context, state, policy, counters, key, mine, fingerprint).ConfigureAwait(false);
                return;
            }

            if (!holder!.IsConfirmed)
            {
                // It still asks the other instances whether it holds the key: judge against whoever turns out to.
                await holder.Decided.WaitAsync(context.RequestAborted).ConfigureAwait(false);
                continue;
            }

            if (!holder.Matches(fingerprint))
            {
                await AnswerFromOutcomeAsync(context, counters, response: null).ConfigureAwait(false);
                return;
            }

            if (!policy.WaitForDuplicates)
            {
                await AnswerConflictAsync(context, counters).ConfigureAwait(false);
                return;
            }

            CapturedResponse? answer;
            try
            {
                answer = await holder.Done.WaitAsync(path.WaitTimeout(state), path.Time, context.RequestAborted).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                counters.Count(IdempotencyCounters.Conflict);
                context.Response.Headers.RetryAfter = "1";
                await WriteProblemAsync(context, StatusCodes.Status409Conflict, "Request in progress",
                    "A request with this idempotency key is still being processed after the wait timeout; retry later.").ConfigureAwait(false);
                return;
            }

            if (answer is not null)
            {
                await AnswerFromOutcomeAsync(context, counters, answer).ConfigureAwait(false);
                return;
            }

            // The first request's outcome was not kept: its key is free, and this request claims it now.
        }
    }

    /// <summary>
    /// This instance holds the key: with a scale-out package, it claims it across instances too (or answers from the
    /// other instances' claim or outcome) before it runs the endpoint.
    /// </summary>
    private async Task RunHereOrAcrossInstancesAsync(
        HttpContext context, EndpointState state, IdempotencyPolicy policy, IdempotencyCounters counters, string key, IdempotencyClaim mine, byte[] fingerprint)
    {
        var across = path.ScaleOut.Idempotency;
        IDistributedIdempotencyLease? lease = null;
        if (across.Enabled)
        {
            AcrossInstances answer;
            CapturedResponse? answered;
            try
            {
                (answer, lease, answered) = await ClaimAcrossInstancesAsync(context, state, policy, key, mine, fingerprint).ConfigureAwait(false);
            }
            catch
            {
                Store.Release(key, mine, kept: null);
                throw;
            }

            if (answer != AcrossInstances.RunHere)
            {
                // Answered from the other instances: this instance's duplicates learn the same outcome, or claim the key again.
                Store.Release(key, mine, answered);
            }

            switch (answer)
            {
                case AcrossInstances.Replay:
                    counters.Count(IdempotencyCounters.Replayed);
                    path.SetCacheStatus(context, ReplayStatus);
                    await answered!.ReplayAsSentAsync(context, ReplayedHeader, context.RequestAborted).ConfigureAwait(false);
                    return;
                case AcrossInstances.Mismatch:
                    await AnswerFromOutcomeAsync(context, counters, response: null).ConfigureAwait(false);
                    return;
                case AcrossInstances.Conflict:
                    await AnswerConflictAsync(context, counters).ConfigureAwait(false);
                    return;
                case AcrossInstances.Unavailable:
                    context.Response.Headers.RetryAfter = "1";
                    await WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "Idempotency store unavailable",
                        "This endpoint requires an idempotency key, and the store that guarantees it is unavailable; retry later.").ConfigureAwait(false);
                    return;
            }
        }

        mine.Confirm();
        counters.Count(IdempotencyCounters.Claimed);
        await RunClaimedAsync(context, policy, key, mine, fingerprint, lease).ConfigureAwait(false);
    }

    private enum AcrossInstances
    {
        RunHere,
        Replay,
        Mismatch,
        Conflict,
        Unavailable,
    }

    /// <summary>
    /// Asks the other instances: this request claims the key (a lease), or gets the kept outcome, or — while another
    /// instance's request with the same fingerprint runs — 409, or waits (asking again, at most the wait timeout) when the
    /// policy waits for duplicates; a lapsed lease (a dead holder) lets it claim. With the shared store unavailable, a
    /// required key fails closed (503); otherwise the request runs here without the guarantee across instances.
    /// </summary>
    private async Task<(AcrossInstances Answer, IDistributedIdempotencyLease? Lease, CapturedResponse? Response)> ClaimAcrossInstancesAsync(
        HttpContext context, EndpointState state, IdempotencyPolicy policy, string key, IdempotencyClaim mine, byte[] fingerprint)
    {
        var across = path.ScaleOut.Idempotency;
        var time = path.Time;
        var waitUntil = time.GetTimestamp();
        var waitTimeout = path.WaitTimeout(state);
        var interval = across.RetryInterval;
        while (true)
        {
            var claim = await across.TryClaimAsync(key, fingerprint, context.RequestAborted).ConfigureAwait(false);
            switch (claim.Kind)
            {
                case DistributedClaimKind.Claimed:
                    return (AcrossInstances.RunHere, claim.Lease, null);
                case DistributedClaimKind.Outcome when !claim.Matches(fingerprint):
                case DistributedClaimKind.Held when !claim.Matches(fingerprint):
                    return (AcrossInstances.Mismatch, null, null);
                case DistributedClaimKind.Outcome:
                    if (CapturedResponseFormatter.TryDeserialize(claim.Payload!, out var problem) is { } response)
                    {
                        return (AcrossInstances.Replay, null, response);
                    }

                    CoalescingLog.IdempotentOutcomeUnreadable(path.Logger, context.Request.Method, state.Name, problem ?? "unknown format");
                    return policy.RequireKey ? (AcrossInstances.Unavailable, null, null) : (AcrossInstances.RunHere, null, null);
                case DistributedClaimKind.Held when !policy.WaitForDuplicates ||
                                                    (waitTimeout != Timeout.InfiniteTimeSpan && time.GetElapsedTime(waitUntil) >= waitTimeout):
                    return (AcrossInstances.Conflict, null, null);
                case DistributedClaimKind.Held:
                    // Another instance runs this very request: this instance's duplicates are judged against it (same
                    // fingerprint) and wait with this one.
                    mine.Confirm();
                    await Task.Delay(interval, time, context.RequestAborted).ConfigureAwait(false);
                    interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, across.RetryInterval.Ticks * 10));
                    continue;
                default:
                    return policy.RequireKey ? (AcrossInstances.Unavailable, null, null) : (AcrossInstances.RunHere, null, null);
            }
        }
    }

    private static Task AnswerConflictAsync(HttpContext context, IdempotencyCounters counters)
    {
        counters.Count(IdempotencyCounters.Conflict);
        context.Response.Headers.RetryAfter = "1";
        return WriteProblemAsync(context, StatusCodes.Status409Conflict, "Request in progress",
            "A request with this idempotency key is still being processed; retry later.");
    }

    /// <summary>Replays <paramref name="response"/>, or answers 422 when the key's outcome belongs to another request.</summary>
    private Task AnswerFromOutcomeAsync(HttpContext context, IdempotencyCounters counters, CapturedResponse? response)
    {
        if (response is null)
        {
            counters.Count(IdempotencyCounters.Mismatch);
            return WriteProblemAsync(context, StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
                "This idempotency key was used with a different request (method, path, query, content headers or body).");
        }

        counters.Count(IdempotencyCounters.Replayed);
        path.SetCacheStatus(context, ReplayStatus);
        return response.ReplayAsSentAsync(context, ReplayedHeader, context.RequestAborted);
    }

    /// <summary>Runs the endpoint under the claim, keeps a kept outcome, then frees the key and tells the waiters.</summary>
    private async Task RunClaimedAsync(
        HttpContext context, IdempotencyPolicy policy, string key, IdempotencyClaim claim, byte[] fingerprint, IDistributedIdempotencyLease? lease)
    {
        path.SetCacheStatus(context, CacheStatus.Miss);
        var response = context.Response;
        var original = context.Features.Require<IHttpResponseBodyFeature>();
        var entryHeaders = CapturedResponseFactory.SnapshotHeaders(response.Headers);
        var capture = new ResponseCapture(original, response.Headers, path.Options.MaxBufferedBodyBytes);
        context.Features.Replace<IHttpResponseBodyFeature>(capture);
        CapturedResponse? kept = null;
        try
        {
            await path.Next(context).ConfigureAwait(false);
            capture.Finish();

            // The endpoint ran to the end: its outcome stands even if its client has gone (the work is done; a retry
            // should get this answer, not a second execution).
            if (policy.Keeps(response.StatusCode))
            {
                if (capture.Overflowed || capture.Streaming)
                {
                    CoalescingLog.IdempotentOutcomeNotKept(path.Logger, context.Request.Method, context.GetEndpoint()?.DisplayName ?? "(endpoint)",
                        capture.Streaming ? "it streams" : $"its body is larger than MaxBufferedBodyBytes ({path.Options.MaxBufferedBodyBytes} bytes)");
                }
                else
                {
                    kept = CapturedResponseFactory.Capture(context, capture, entryHeaders, path.Time.GetUtcNow(), inputs: null);
                    Store.KeepOutcome(key, new IdempotencyRecord(fingerprint, kept), policy.KeepFor);
                }
            }
        }
        finally
        {
            context.Features.Replace(original);
            capture.Dispose();
            if (lease is not null)
            {
                // Shared (or the key freed) before this instance's duplicates hear of it; never throws.
                await lease.CompleteAsync(kept is null ? null : CapturedResponseFormatter.Serialize(kept), policy.KeepFor).ConfigureAwait(false);
            }

            Store.Release(key, claim, kept);
        }
    }

    /// <summary>An RFC 9457 problem details answer, through the app's <see cref="IProblemDetailsService"/> when it has one.</summary>
    private static async Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
    {
        var response = context.Response;
        response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Title = title, Detail = detail };
        if (context.RequestServices.GetService<IProblemDetailsService>() is { } service &&
            await service.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }).ConfigureAwait(false))
        {
            return;
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", $"https://tools.ietf.org/html/rfc9110#section-15.{(status == 409 ? "5.10" : status == 422 ? "5.21" : "5.1")}");
            json.WriteString("title", title);
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteEndObject();
        }

        response.ContentType = "application/problem+json";
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
