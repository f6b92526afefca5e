using System.Diagnostics.CodeAnalysis;

namespace Coalesce.AspNetCore;

/// <summary>What kind of request input the app read.</summary>
internal enum InputKind : byte
{
    /// <summary>A request header, by name.</summary>
    Header = 1,

    /// <summary>A query parameter, by name.</summary>
    Query = 2,

    /// <summary>A request cookie, by name.</summary>
    Cookie = 3,

    /// <summary>The client's address (<c>Connection.RemoteIpAddress</c>, also as <c>UseForwardedHeaders</c> set it).</summary>
    RemoteAddress = 4,

    /// <summary>The client's port.</summary>
    RemotePort = 5,

    /// <summary>The request's protocol (<c>HTTP/1.1</c>, <c>HTTP/2</c>, ...).</summary>
    Protocol = 6,

    /// <summary>An <c>HttpContext.Items</c> entry a middleware in front of Coalesce set, by its string key.</summary>
    Item = 7,

    /// <summary>Every request header (the app enumerated them), but the per-hop and tracing ones.</summary>
    AllHeaders = 8,

    /// <summary>The whole query (the app read the raw query string or enumerated the parameters).</summary>
    AllQuery = 9,

    /// <summary>Every cookie (the app enumerated them).</summary>
    AllCookies = 10,
}

/// <summary>
/// One request input by kind and name, written as the stats and options write it: <c>header:X-Tenant</c>,
/// <c>query:region</c>, <c>cookie:theme</c>, <c>item:tenant</c>, <c>connection:remote-address</c>,
/// <c>connection:remote-port</c>, <c>request:protocol</c>, <c>header:*</c>, <c>query:*</c>, <c>cookie:*</c>.
/// Header names compare without case, other names with it (as ASP.NET compares them).
/// </summary>
internal readonly record struct RequestInput(InputKind Kind, string Name)
{
    public static RequestInput RemoteAddress { get; } = new(InputKind.RemoteAddress, string.Empty);

    public static RequestInput RemotePort { get; } = new(InputKind.RemotePort, string.Empty);

    public static RequestInput Protocol { get; } = new(InputKind.Protocol, string.Empty);

    public static RequestInput AllHeaders { get; } = new(InputKind.AllHeaders, string.Empty);

    public static RequestInput AllQuery { get; } = new(InputKind.AllQuery, string.Empty);

    public static RequestInput AllCookies { get; } = new(InputKind.AllCookies, string.Empty);

    public bool Equals(RequestInput other) =>
        Kind == other.Kind &&
        string.Equals(Name, other.Name, Kind is InputKind.Header or InputKind.Query ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    public override int GetHashCode() =>
        HashCode.Combine(Kind, Kind is InputKind.Header or InputKind.Query ? StringComparer.OrdinalIgnoreCase.GetHashCode(Name) : Name.GetHashCode(StringComparison.Ordinal));

    public override string ToString() => Kind switch
    {
        InputKind.Header => "header:" + Name,
        InputKind.Query => "query:" + Name,
        InputKind.Cookie => "cookie:" + Name,
        InputKind.Item => "item:" + Name,
        InputKind.RemoteAddress => "connection:remote-address",
        InputKind.RemotePort => "connection:remote-port",
        InputKind.Protocol => "request:protocol",
        InputKind.AllHeaders => "header:*",
        InputKind.AllQuery => "query:*",
        InputKind.AllCookies => "cookie:*",
        _ => "unknown",
    };

    /// <summary>The policy call that keys this input from the first request, for logs.</summary>
    public string Remedy => Kind switch
    {
        InputKind.Header => $"VaryByHeader(\"{Name}\")",
        InputKind.Query => $"VaryByQuery(\"{Name}\")",
        InputKind.AllQuery => "keying the whole query (no VaryByQuery)",
        InputKind.Cookie or InputKind.AllCookies => "VaryByIdentity(true) (the Cookie header joins the identity hash)",
        _ => "KeyBy(...) with the value it reads",
    };

    /// <summary>Reads the form <see cref="ToString"/> writes.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out RequestInput? input)
    {
        input = null;
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (text is null || colon <= 0 || colon == text.Length - 1)
        {
            return false;
        }

        var (prefix, name) = (text[..colon], text[(colon + 1)..]);
        input = (prefix.ToLowerInvariant(), name) switch
        {
            ("header", "*") => AllHeaders,
            ("query", "*") => AllQuery,
            ("cookie", "*") => AllCookies,
            ("header", _) => new RequestInput(InputKind.Header, name),
            ("query", _) => new RequestInput(InputKind.Query, name),
            ("cookie", _) => new RequestInput(InputKind.Cookie, name),
            ("item", _) => new RequestInput(InputKind.Item, name),
            ("connection", "remote-address") => RemoteAddress,
            ("connection", "remote-port") => RemotePort,
            ("request", "protocol") => Protocol,
            _ => null,
        };
        return input is not null;
    }
}
