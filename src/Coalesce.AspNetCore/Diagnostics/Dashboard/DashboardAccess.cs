using System.Net;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>
/// Who may use the dashboard, decided per request by its own endpoints (no middleware): when the app gave the dashboard
/// an authorization policy (<c>RequireAuthorization</c> on the builder <c>MapCoalescingDashboard</c> returns, or on a
/// group around it) the policy has already decided; otherwise only a request from this machine, not relayed by a proxy
/// on it and addressed to a loopback name, may. Everyone else gets 404, so the page's existence is not disclosed.
/// </summary>
internal static class DashboardAccess
{
    /// <summary>Whether the request may see the dashboard.</summary>
    public static bool IsAllowed(HttpContext context) =>
        HasAuthorizationPolicy(context.GetEndpoint()) || IsDirectLoopback(context);

    /// <summary>Whether the endpoint carries authorization metadata, which ASP.NET's authorization middleware enforced.</summary>
    public static bool HasAuthorizationPolicy(Endpoint? endpoint) =>
        endpoint is not null &&
        (endpoint.Metadata.GetMetadata<IAuthorizeData>() is not null || endpoint.Metadata.GetMetadata<AuthorizationPolicy>() is not null);

    /// <summary>
    /// Whether the request came from a loopback address, not through a proxy, to a loopback name. A reverse proxy on the
    /// same machine makes every client look local; it says so with <c>Forwarded</c> or <c>X-Forwarded-For</c>, which such
    /// a request carries (unless the app's forwarded-headers middleware already put the client's own address in place).
    /// The host must be <c>localhost</c> or a loopback address, so a web page whose own name an attacker pointed at
    /// 127.0.0.1 (DNS rebinding) cannot read the dashboard or its token from a browser on this machine. No address (a
    /// Unix socket, an in-memory server) is not loopback.
    /// </summary>
    public static bool IsDirectLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address && IsLoopback(address) &&
        IsLoopbackHost(context.Request.Host.Host) &&
        !context.Request.Headers.ContainsKey("X-Forwarded-For") && !context.Request.Headers.ContainsKey("Forwarded");

    private static bool IsLoopbackHost(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
        (IPAddress.TryParse(host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host, out var address) && IsLoopback(address));

    private static bool IsLoopback(IPAddress address) => IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
