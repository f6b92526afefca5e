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

    /// <summary>Roughly what this response holds in memory, for the cache's size figures.</summary>
    public long ApproximateSize
    {
        get
        {
            long size = Body.Length + 64;
            foreach (var (name, values) in Headers)
            {
                size += (name.Length + values.ToString().Length) * sizeof(char) + 32;
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
