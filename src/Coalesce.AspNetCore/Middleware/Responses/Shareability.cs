using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// Whether a leader's finished response may answer other requests, and whether it may be kept: pure functions of the
/// response, the endpoint's key and the copy.
/// </summary>
internal static class Shareability
{
    /// <summary>Why the response in <paramref name="context"/> must not be shared, or <see langword="null"/> when it may.</summary>
    public static string? WhyNotShareable(HttpContext context, EndpointState state, ResponseCapture capture, long maxBufferedBodyBytes)
    {
        var response = context.Response;
        var headers = response.Headers;
        if (capture.Overflowed)
        {
            return $"body larger than {maxBufferedBodyBytes} bytes";
        }

        if (WhyHeadNotShareable(context, state, capture) is { } why)
        {
            return why;
        }

        if (HttpMethods.IsHead(context.Request.Method) && !StringValues.Equals(capture.ContentEncoding, headers.ContentEncoding))
        {
            // A HEAD replay writes no body, so an outer middleware that encodes bodies would not add its headers.
            return "a HEAD response that an outer middleware encoded";
        }

        if (!HttpMethods.IsHead(context.Request.Method) && response.ContentLength is { } length && length != capture.CopiedLength &&
            StringValues.IsNullOrEmpty(capture.ContentEncoding) == StringValues.IsNullOrEmpty(headers.ContentEncoding))
        {
            return $"unfinished: {capture.CopiedLength} of {length} bytes";
        }

        return null;
    }

    /// <summary>
    /// Why the status and headers of the response in <paramref name="context"/> keep it from answering other requests,
    /// or <see langword="null"/> when they do not: what is known as soon as the response starts, so followers may
    /// stream a body whose headers pass.
    /// </summary>
    public static string? WhyHeadNotShareable(HttpContext context, EndpointState state, ResponseCapture capture)
    {
        var response = context.Response;
        var headers = response.Headers;
        if (headers.ContainsKey(HeaderNames.SetCookie))
        {
            return "it sets a cookie";
        }

        if (response.StatusCode is StatusCodes.Status206PartialContent or StatusCodes.Status304NotModified or StatusCodes.Status412PreconditionFailed ||
            headers.ContainsKey(HeaderNames.ContentRange))
        {
            return $"status {response.StatusCode} answers only its own request";
        }

        foreach (var vary in capture.Vary)
        {
            foreach (var name in (vary ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!IsInKey(state, name))
                {
                    return $"it varies on '{name}', which the key does not hold";
                }
            }
        }

        return null;
    }

    /// <summary>Whether the endpoint's key holds request header <paramref name="header"/>.</summary>
    public static bool IsInKey(EndpointState state, string header) =>
        Array.Exists(state.VaryByHeaders, h => h.Equals(header, StringComparison.OrdinalIgnoreCase)) ||
        (state.VaryByIdentity && Array.Exists(state.IdentityHeaders, h => h.Equals(header, StringComparison.OrdinalIgnoreCase)));

    /// <summary>Whether a shareable response may also be kept: a 2xx that was buffered whole and allows storing.</summary>
    public static bool IsMemoizable(HttpContext context, ResponseCapture capture)
    {
        var status = context.Response.StatusCode;
        if (status is < 200 or > 299 || capture.SentFile || capture.NotReplayable || capture.Streaming)
        {
            return false;
        }

        foreach (var directive in context.Response.Headers.CacheControl)
        {
            if (directive is not null && directive.Contains("no-store", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
        }

        return true;
    }
}
