using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// The coalescing key of an outbound request: method, absolute URI, the vary headers, and a hash of the
/// credentials (<c>Authorization</c>, and <c>Cookie</c> when varied on), every part length-prefixed so no two
/// requests meet by accident and two identities never share a response.
/// </summary>
internal static class HttpRequestKey
{
    /// <summary>The vary headers in key order, without the two that enter the key as the identity hash.</summary>
    public static string[] PlainHeaders(IEnumerable<string> varyByHeaders) =>
        [.. varyByHeaders
            .Where(h => !IsCredential(h))
            .Select(h => h.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];

    public static string Build(HttpRequestMessage request, string[] plainHeaders, bool varyByCookie)
    {
        var key = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[256]);
        RequestKeyBuilder.Append(ref key, request.Method.Method);
        RequestKeyBuilder.Append(ref key, request.RequestUri is { IsAbsoluteUri: true } uri ? uri.AbsoluteUri : request.RequestUri?.OriginalString);
        foreach (var name in plainHeaders)
        {
            key.AppendLiteral("H");
            RequestKeyBuilder.Append(ref key, name);
            RequestKeyBuilder.AppendValues(ref key, Values(request, name));
        }

        RequestKeyBuilder.AppendIdentity(
            ref key, Values(request, HeaderNames.Authorization), varyByCookie ? Values(request, HeaderNames.Cookie) : StringValues.Empty);
        return key.ToStringAndClear();
    }

    public static bool IsCredential(string header) =>
        header.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase) ||
        header.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase);

    private static StringValues Values(HttpRequestMessage request, string name)
    {
        if (!request.Headers.NonValidated.TryGetValues(name, out var values) || values.Count == 0)
        {
            return StringValues.Empty;
        }

        if (values.Count == 1)
        {
            return values.ToString();
        }

        var all = new string[values.Count];
        var i = 0;
        foreach (var value in values)
        {
            all[i++] = value;
        }

        return all;
    }
}
