using Coalesce.AspNetCore;

namespace WebApi.Tenants;

/// <summary>
/// <c>GET /dashboard</c>: multi-tenancy the way header-based apps do it. A middleware in front of coalescing resolves
/// the tenant from <c>X-Tenant</c> into <c>HttpContext.Items</c>; the endpoint reads it from there. Nothing tells
/// Coalesce about the tenant: it sees the endpoint read an item the middleware set, so each tenant's requests share one
/// execution (and one memoized copy) with each other and never with another tenant's, and <c>/_coalesce/stats</c> lists
/// <c>item:tenant</c> among the inputs the endpoint reads outside its key.
/// </summary>
internal static class TenantEndpoints
{
    public const string TenantItem = "tenant";
    public const string TenantHeader = "X-Tenant";

    /// <summary>The tenant resolver: goes before <c>UseRequestCoalescing()</c>, as authentication would.</summary>
    public static IApplicationBuilder UseTenantResolver(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var tenant = context.Request.Headers[TenantHeader].ToString();
            context.Items[TenantItem] = string.IsNullOrWhiteSpace(tenant) ? "public" : tenant.Trim().ToLowerInvariant();
            return next(context);
        });

    public static IEndpointRouteBuilder MapTenantDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/dashboard", GetAsync).WithCoalescing(p => p.Memoize(TimeSpan.FromSeconds(10)));
        return endpoints;
    }

    private static async Task<IResult> GetAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var tenant = (string)context.Items[TenantItem]!;

        // A slow per-tenant query: concurrent requests of one tenant run it once.
        await Task.Delay(300, cancellationToken);
        return Results.Text($"{{\"tenant\":\"{tenant}\",\"openOrders\":{(uint)StableHash(tenant) % 100}}}", "application/json");
    }

    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash;
    }
}
