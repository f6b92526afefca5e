using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// A finished response as its leader produced it, to an unconditional request without a range: status, the
/// headers its endpoint set, and the body bytes. Immutable once built, so followers and memoized hits replay it
/// concurrently without copying.
/// </summary>
/// <remarks>
/// Each client is answered for its own request: its validators (<c>If-None-Match</c>, <c>If-Modified-Since</c>,
/// <c>If-Match</c>, <c>If-Unmodified-Since</c>) are checked against this response's <c>ETag</c> and
/// <c>Last-Modified</c> (giving 304 or 412), and its <c>Range</c> (with <c>If-Range</c>) is cut from the body when
/// the endpoint serves ranges. Both follow the rules ASP.NET's own file results apply, so a client gets what the
/// endpoint would have answered it.
/// </remarks>
internal sealed class CapturedResponse : ICacheSizeAware
{
    public CapturedResponse(
        int statusCode, KeyValuePair<string, StringValues>[] headers, byte[] body, long? headContentLength, DateTimeOffset? renderedAt = null)
    {
        StatusCode = statusCode;
        RenderedAt = renderedAt;
        Headers = headers;
        Body = body;
        HeadContentLength = headContentLength;
        foreach (var (name, values) in headers)
        {
            if (name.Equals(HeaderNames.ETag, StringComparison.OrdinalIgnoreCase))
            {
                ETag = EntityTagHeaderValue.TryParse(values.ToString(), out var etag) ? etag : null;
            }
            else if (name.Equals(HeaderNames.LastModified, StringComparison.OrdinalIgnoreCase))
            {
                LastModified = HeaderUtilities.TryParseDate(values.ToString(), out var date) ? date : null;
            }
            else if (name.Equals(HeaderNames.AcceptRanges, StringComparison.OrdinalIgnoreCase))
            {
                ServesRanges = values.ToString().Contains("bytes", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase))
            {
                IsEncoded = !StringValues.IsNullOrEmpty(values);
            }
        }
    }

    // Once it is stale, this instance refreshes it in the background one refresh at a time.
    private int _refreshing;

    public int StatusCode { get; }

    public KeyValuePair<string, StringValues>[] Headers { get; }

    public byte[] Body { get; }

    /// <summary>For a HEAD response, the Content-Length its leader announced; a HEAD carries no body to count.</summary>
    public long? HeadContentLength { get; }

    public EntityTagHeaderValue? ETag { get; }

    /// <summary>When the endpoint rendered this response (the wall clock of the instance that ran it), for <c>Age</c>.</summary>
    public DateTimeOffset? RenderedAt { get; }

    public DateTimeOffset? LastModified { get; }

    /// <summary>Whether the endpoint serves byte ranges (it said <c>Accept-Ranges: bytes</c>).</summary>
    public bool ServesRanges { get; }

    /// <summary>Whether the body is content-encoded (compressed) as captured.</summary>
    public bool IsEncoded { get; }

    /// <summary>
    /// Every byte this response holds, as the memo cache counts it against its byte bound: this object, the body
    /// array, the header array, and each header's name and values (strings with their object headers; an array when
    /// a header has several values). Names shared with other responses are counted here too: a bound errs high.
    /// </summary>
    public long ApproximateSize
    {
        get
        {
            // Fields: three references, a long? and two DateTimeOffset? (16 and 2 × 24 B with their flags), two ints and
            // two bools; the parsed ETag is one more small object (its text is the header value, counted below).
            var size = CacheSizing.OfObject((3 * 8) + 16 + (2 * 24) + (2 * 4) + 2) + CacheSizing.OfArray(Body.LongLength, 1) +
                       (ETag is null ? 0 : CacheSizing.OfObject(40));

            // Each element is a name reference and a StringValues, which is one reference.
            size += CacheSizing.OfArray(Headers.Length, 16);
            foreach (var (name, values) in Headers)
            {
                size += CacheSizing.OfString(name);
                if (values.Count > 1)
                {
                    size += CacheSizing.OfArray(values.Count, IntPtr.Size);
                }

                foreach (var value in values)
                {
                    size += value is null ? 0 : CacheSizing.OfString(value);
                }
            }

            return size;
        }
    }

    /// <summary>Claims the one background refresh of this (stale) response; <see langword="false"/> when one runs.</summary>
    public bool TryBeginRefresh() => Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0;

    public void EndRefresh() => Volatile.Write(ref _refreshing, 0);

    /// <summary>
    /// The inputs this response was computed from that its key does not hold, with the leader's values; another
    /// request shares it only when its own are equal. <see langword="null"/> when the app read none.
    /// </summary>
    public ObservedInputs? Inputs { get; init; }

    /// <summary>
    /// Whether this response can answer <paramref name="context"/>'s request exactly as the endpoint would. Only a ranged
    /// request can fail this: the endpoint serves ranges, but the body is compressed (the endpoint would have sent
    /// the plain range) or the request is a HEAD.
    /// </summary>
    public bool CanAnswer(HttpContext context) =>
        RequestInputs.UnrecordedHeaders(context).Range.Count == 0 || StatusCode != StatusCodes.Status200OK || !ServesRanges ||
        (!IsEncoded && HttpMethods.IsGet(context.Request.Method));

    /// <summary>Writes the answer to <paramref name="context"/>'s own request: this response, a 304, a 412 or a range of it.</summary>
    /// <param name="context">The request to answer.</param>
    /// <param name="now">The wall clock now, for the validators and <c>Age</c>.</param>
    /// <param name="stored">
    /// Whether the answer comes from storage (a memoized response, fresh or stale) rather than from an execution that
    /// ran for this request's flight: it then carries <c>Age</c>, the seconds since it was rendered (RFC 9111 §5.1).
    /// </param>
    /// <param name="cancellationToken">Ends writing the body; normally the request's own abort token.</param>
    public Task ReplayAsync(HttpContext context, DateTimeOffset now, bool stored, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var requestHeaders = RequestInputs.UnrecordedHeaders(context);
        var response = context.Response;
        if (stored && RenderedAt is { } rendered)
        {
            response.Headers.Age = AgeText(now - rendered);
        }

        if (StatusCode is >= 200 and < 300)
        {
            var precondition = HttpPreconditions.Evaluate(requestHeaders, ETag, LastModified, now);
            if (precondition is HttpPreconditions.Result.NotModified or HttpPreconditions.Result.PreconditionFailed)
            {
                response.StatusCode = precondition == HttpPreconditions.Result.NotModified
                    ? StatusCodes.Status304NotModified
                    : StatusCodes.Status412PreconditionFailed;
                CopyHeaders(response.Headers, validatorsOnly: true);
                return Task.CompletedTask;
            }
        }

        CopyHeaders(response.Headers, validatorsOnly: false);
        if (HttpMethods.IsHead(request.Method))
        {
            response.StatusCode = StatusCode;
            response.ContentLength = HeadContentLength;
            return Task.CompletedTask;
        }

        if (StatusCode == StatusCodes.Status200OK && ServesRanges && requestHeaders.Range.Count > 0 &&
            ByteRanges.TryParse(requestHeaders, Body.Length, ETag, LastModified, out var range))
        {
            if (range is null)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = new ContentRangeHeaderValue(Body.Length).ToString();
                response.ContentLength = 0;
                return Task.CompletedTask;
            }

            var (from, to) = range.Value;
            var length = (int)(to - from + 1);
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = new ContentRangeHeaderValue(from, to, Body.Length).ToString();
            response.ContentLength = length;
            return response.Body.WriteAsync(Body.AsMemory((int)from, length), cancellationToken).AsTask();
        }

        response.StatusCode = StatusCode;
        response.ContentLength = Body.Length;
        return Body.Length == 0 ? Task.CompletedTask : response.Body.WriteAsync(Body, cancellationToken).AsTask();
    }

    /// <summary>
    /// Starts a follower's answer streamed from the leader's body: this head's status and headers, and the
    /// <c>Content-Length</c> the leader announced (<see cref="HeadContentLength"/>), if any.
    /// </summary>
    public void WriteHead(HttpResponse response)
    {
        CopyHeaders(response.Headers, validatorsOnly: false);
        response.StatusCode = StatusCode;
        response.ContentLength = HeadContentLength;
    }

    /// <summary>
    /// Writes this response as it was first sent (status, headers, body byte for byte), with no validators or range
    /// applied, and <paramref name="markerHeader"/>: <c>true</c>. The answer to a retry of an idempotent request.
    /// </summary>
    public Task ReplayAsSentAsync(HttpContext context, string markerHeader, CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.StatusCode = StatusCode;
        CopyHeaders(response.Headers, validatorsOnly: false);
        response.Headers[markerHeader] = "true";
        if (StatusCode is not (StatusCodes.Status204NoContent or StatusCodes.Status304NotModified))
        {
            response.ContentLength = Body.Length;
        }

        return Body.Length == 0 ? Task.CompletedTask : response.Body.WriteAsync(Body, cancellationToken).AsTask();
    }

    /// <summary>Whole seconds, never negative (clocks of different instances may disagree a little); common values cached.</summary>
    internal static string AgeText(TimeSpan age)
    {
        var seconds = age <= TimeSpan.Zero ? 0 : (long)age.TotalSeconds;
        return seconds < SmallAges.Length ? SmallAges[seconds] : seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private static readonly string[] SmallAges = [.. Enumerable.Range(0, 600).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    private void CopyHeaders(IHeaderDictionary target, bool validatorsOnly)
    {
        foreach (var (name, values) in Headers)
        {
            if (!validatorsOnly || IsKeptOnValidation(name))
            {
                target[name] = values;
            }
        }
    }

    /// <summary>The headers a 304 (and, as ASP.NET's file results do, a 412) carries from the full response.</summary>
    private static readonly FrozenSet<string> KeptOnValidation = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        HeaderNames.ETag, HeaderNames.LastModified, HeaderNames.CacheControl, HeaderNames.Expires, HeaderNames.Vary, HeaderNames.ContentLocation);

    /// <summary>Headers that describe one connection or one message rather than the resource, and are never replayed.</summary>
    private static readonly FrozenSet<string> PerMessage = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        HeaderNames.ContentLength, HeaderNames.Date, HeaderNames.Server, HeaderNames.TransferEncoding, HeaderNames.Connection,
        HeaderNames.KeepAlive, HeaderNames.SetCookie, HeaderNames.ContentRange, HeaderNames.Age, CacheStatus.HeaderName);

    /// <summary>Whether header <paramref name="name"/> describes one connection or one message, and is never replayed.</summary>
    internal static bool IsPerMessageHeader(string name) => PerMessage.Contains(name);

    private static bool IsKeptOnValidation(string name) => KeptOnValidation.Contains(name);
}
