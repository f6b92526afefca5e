using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>Makes the <see cref="CapturedResponse"/> a leader's finished response is shared and kept as.</summary>
internal static class CapturedResponseFactory
{
    /// <summary>
    /// The response in <paramref name="context"/> as others get it: its status, the headers the inner pipeline set
    /// (not per-message ones, nor those set outside before the leader entered) and the copied body.
    /// </summary>
    public static CapturedResponse Capture(
        HttpContext context, ResponseCapture capture, KeyValuePair<string, StringValues>[]? entryHeaders, DateTimeOffset renderedAt, ObservedInputs? inputs)
    {
        var isHead = HttpMethods.IsHead(context.Request.Method);
        return new CapturedResponse(
            context.Response.StatusCode, Headers(context, capture, entryHeaders), isHead ? [] : capture.CopyToArray(), isHead ? context.Response.ContentLength : null, renderedAt)
        {
            Inputs = inputs,
        };
    }

    /// <summary>
    /// The status and headers of the leader's response that has just started, as followers streaming its body answer
    /// with them: its body is empty here, and <see cref="CapturedResponse.HeadContentLength"/> is the
    /// <c>Content-Length</c> it announced, if any.
    /// </summary>
    public static CapturedResponse CaptureHead(
        HttpContext context, ResponseCapture capture, KeyValuePair<string, StringValues>[]? entryHeaders, ObservedInputs? inputs) =>
        new(context.Response.StatusCode, Headers(context, capture, entryHeaders), [], context.Response.ContentLength)
        {
            Inputs = inputs,
        };

    private static KeyValuePair<string, StringValues>[] Headers(HttpContext context, ResponseCapture capture, KeyValuePair<string, StringValues>[]? entryHeaders)
    {
        var response = context.Response;
        var headers = new List<KeyValuePair<string, StringValues>>(response.Headers.Count);
        foreach (var header in response.Headers)
        {
            if (CapturedResponse.IsPerMessageHeader(header.Key) || WasSetBeforeEntry(entryHeaders, header) ||
                header.Key.Equals(HeaderNames.ContentEncoding, StringComparison.OrdinalIgnoreCase) ||
                header.Key.Equals(HeaderNames.Vary, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            headers.Add(header);
        }

        // The encoding and Vary that describe the copied bytes are those the inner pipeline set: an outer
        // compression middleware adds its own on the way out, and adds them again for each follower.
        if (!StringValues.IsNullOrEmpty(capture.ContentEncoding))
        {
            headers.Add(new(HeaderNames.ContentEncoding, capture.ContentEncoding));
        }

        if (!StringValues.IsNullOrEmpty(capture.Vary))
        {
            headers.Add(new(HeaderNames.Vary, capture.Vary));
        }

        return [.. headers];
    }

    /// <summary>The response headers set before the leader entered, or <see langword="null"/> when there are none.</summary>
    public static KeyValuePair<string, StringValues>[]? SnapshotHeaders(IHeaderDictionary headers) =>
        headers.Count == 0 ? null : [.. headers];

    /// <summary>
    /// Headers that middleware outside this one set before the leader entered (a request id, say) belong to the
    /// leader's own request; replaying them would hand followers the leader's values.
    /// </summary>
    private static bool WasSetBeforeEntry(KeyValuePair<string, StringValues>[]? entryHeaders, KeyValuePair<string, StringValues> header)
    {
        if (entryHeaders is null)
        {
            return false;
        }

        foreach (var entry in entryHeaders)
        {
            if (entry.Key.Equals(header.Key, StringComparison.OrdinalIgnoreCase))
            {
                return StringValues.Equals(entry.Value, header.Value);
            }
        }

        return false;
    }
}
