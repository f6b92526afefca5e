using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// Reads one request header by the fastest way the server offers. A header the key holds is read on every request:
/// by name, Kestrel's header dictionary compares the name against its known headers each time (about 45 ns for
/// <c>Authorization</c>); through the typed property it reads a field (about 15 ns). Names ASP.NET gives a typed
/// property use it; any other name is read by name.
/// </summary>
internal static class HeaderReader
{
    private static readonly Dictionary<string, Func<IHeaderDictionary, StringValues>> Typed = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Accept"] = static h => h.Accept,
        ["Accept-Charset"] = static h => h.AcceptCharset,
        ["Accept-Encoding"] = static h => h.AcceptEncoding,
        ["Accept-Language"] = static h => h.AcceptLanguage,
        ["Authorization"] = static h => h.Authorization,
        ["Cache-Control"] = static h => h.CacheControl,
        ["Content-Language"] = static h => h.ContentLanguage,
        ["Content-Type"] = static h => h.ContentType,
        ["Cookie"] = static h => h.Cookie,
        ["Host"] = static h => h.Host,
        ["Origin"] = static h => h.Origin,
        ["Pragma"] = static h => h.Pragma,
        ["Referer"] = static h => h.Referer,
        ["User-Agent"] = static h => h.UserAgent,
        ["X-Requested-With"] = static h => h.XRequestedWith,
    };

    /// <summary>The reader for <paramref name="name"/>: a typed property where there is one, the indexer otherwise.</summary>
    public static Func<IHeaderDictionary, StringValues> For(string name) =>
        Typed.TryGetValue(name, out var typed) ? typed : headers => headers[name];
}
