using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// The RFC 9211 <c>Cache-Status</c> response header, when <see cref="RequestCoalescingOptions.EmitCacheStatus"/>
/// is on: one entry naming Coalesce and how the response was produced. The RFC lists caches from the origin's
/// side to the client's, so ours is added after any entry the app set (from a cache behind it) and before those of
/// proxies and CDNs in front of the app.
/// </summary>
internal static class CacheStatus
{
    public const string HeaderName = "Cache-Status";

    /// <summary>Answered from a memoized response.</summary>
    public const string Hit = "hit";

    /// <summary>Another request's execution answered this one (it was collapsed into that flight).</summary>
    public const string Collapsed = "fwd=miss; collapsed";

    /// <summary>The endpoint ran for this request, and others may have shared it.</summary>
    public const string Miss = "fwd=miss";

    /// <summary>Coalesce left this request alone (not eligible, a streaming request, or a key passing through).</summary>
    public const string Bypass = "fwd=bypass";

    /// <summary>
    /// A memoized response past its time to live: served while a background refresh runs (<c>hit</c>, as no request was
    /// forwarded for this one), or instead of a failed execution (<c>fwd=stale</c>, with the status the endpoint gave
    /// when it gave one). A negative <c>ttl</c> says how long it has been stale (RFC 9211 §2.4).
    /// </summary>
    public static string Stale(TimeSpan stale, bool onError, int? failedStatus)
    {
        var seconds = (long)Math.Ceiling(Math.Max(0, stale.TotalSeconds));
        var ttl = seconds == 0 ? "0" : "-" + seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return !onError
            ? $"hit; ttl={ttl}; detail=stale-while-revalidate"
            : failedStatus is { } status
                ? $"fwd=stale; fwd-status={status}; ttl={ttl}; detail=stale-if-error"
                : $"fwd=stale; ttl={ttl}; detail=stale-if-error";
    }

    /// <summary>
    /// <paramref name="status"/> with the reason the request did not share a response: one of its inputs differed
    /// (RFC 9211 §2.8 <c>detail</c>).
    /// </summary>
    public static string InputDiffers(string status, RequestInput input) => $"{status}; detail=\"{input} differs\"";

    public static void Set(HttpResponse response, string name, string status)
    {
        var entry = $"{name}; {status}";
        var existing = response.Headers[HeaderName];
        response.Headers[HeaderName] = existing.Count == 0 ? entry : StringValues.Concat(existing, entry);
    }
}
