using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// A finished response as its leader produced it: status, the headers its endpoint set, and the body bytes.
/// Immutable once built, so followers and memoized hits replay it concurrently without copying.
/// </summary>
internal sealed class CapturedResponse : ICacheSizeAware
{
    public CapturedResponse(int statusCode, KeyValuePair<string, StringValues>[] headers, byte[] body, long? headContentLength)
    {
        StatusCode = statusCode;
        Headers = headers;
        Body = body;
        HeadContentLength = headContentLength;
    }

    public int StatusCode { get; }

    public KeyValuePair<string, StringValues>[] Headers { get; }

    public byte[] Body { get; }

    /// <summary>For a HEAD response, the Content-Length its leader announced; a HEAD carries no body to count.</summary>
    public long? HeadContentLength { get; }

    /// <summary>
    /// Every byte this response holds, as the memo cache counts it against its byte bound: this object, the body
    /// array, the header array, and each header's name and values (strings with their object headers; an array when
    /// a header has several values). Names shared with other responses are counted here too: a bound errs high.
    /// </summary>
    public long ApproximateSize
    {
        get
        {
            // Fields: two references, a long? (16 B with its flag) and an int.
            var size = CacheSizing.OfObject(8 + 8 + 16 + 4) + CacheSizing.OfArray(Body.LongLength, 1);

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

    public Task ReplayAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = StatusCode;
        var headers = response.Headers;
        foreach (var (name, values) in Headers)
        {
            headers[name] = values;
        }

        if (HttpMethods.IsHead(context.Request.Method))
        {
            response.ContentLength = HeadContentLength;
            return Task.CompletedTask;
        }

        response.ContentLength = Body.Length;
        return Body.Length == 0 ? Task.CompletedTask : WriteBodyAsync(response, Body, context.RequestAborted);
    }

    private static Task WriteBodyAsync(HttpResponse response, byte[] body, CancellationToken cancellationToken) =>
        response.Body.WriteAsync(body, cancellationToken).AsTask();

    /// <summary>Headers that describe one connection or one message rather than the resource, and are never replayed.</summary>
    internal static bool IsPerMessageHeader(string name) =>
        name.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.Date, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.Server, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.Connection, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.KeepAlive, StringComparison.OrdinalIgnoreCase) ||
        name.Equals(HeaderNames.SetCookie, StringComparison.OrdinalIgnoreCase);
}
