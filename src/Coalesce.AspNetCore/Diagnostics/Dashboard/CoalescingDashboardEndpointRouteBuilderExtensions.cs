using Coalesce;
using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the coalescing dashboard, a live page over the stats document.</summary>
public static class CoalescingDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps a page at <c>GET {pattern}</c> that shows, live, what coalescing does per endpoint: executions saved, hit
    /// rate, stale answers and input refusals over the last minutes, what is in flight, the inputs each endpoint reads
    /// outside its key, the outbound clients and the Redis level when there is one. Its script and styles ship in the
    /// assembly and are served under the pattern; it reads the stats document from <c>{pattern}/dashboard/stats</c>, its
    /// own copy of what <c>MapCoalescingStats</c> serves, so it works whether the app maps that endpoint or not.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Safe by default: only requests from this machine (a loopback address, not relayed by a proxy) may see it, and
    /// every other request gets 404, unless the app gives it an authorization policy: <c>.RequireAuthorization(...)</c>
    /// on the returned builder (or a group around it), which then decides alone. Every answer carries a strict
    /// Content-Security-Policy (no inline script, nothing from elsewhere, no framing) and <c>X-Content-Type-Options: nosniff</c>.
    /// Nothing runs for requests that do not ask for the dashboard: it is endpoints only, no middleware.
    /// </para>
    /// <para>
    /// Its one action, invalidating a tag, a key or every entry, is off unless
    /// <see cref="CoalescingDashboardOptions.AllowInvalidation"/> is set with <c>AddCoalescingDashboard</c>; it is a POST
    /// that needs ASP.NET's antiforgery token, which the page carries.
    /// </para>
    /// </remarks>
    /// <param name="endpoints">The route builder.</param>
    /// <param name="pattern">The page's path; default <c>/_coalesce</c>. A literal path starting with <c>/</c>.</param>
    /// <returns>The convention builder of every endpoint of the dashboard, so they can be protected together.</returns>
    /// <exception cref="ArgumentException">The pattern is not a literal path.</exception>
    /// <exception cref="InvalidOperationException">Request coalescing is not registered, or invalidation is allowed without the antiforgery services.</exception>
    public static IEndpointConventionBuilder MapCoalescingDashboard(this IEndpointRouteBuilder endpoints, string pattern = "/_coalesce")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        pattern = DashboardPage.CheckPattern(pattern);

        var services = endpoints.ServiceProvider;
        var stats = CoalescingStatsDocument.CreateHandler(services, nameof(MapCoalescingDashboard));
        var options = ReadOptions(services);
        var antiforgery = services.GetService<IAntiforgery>();
        if (options.AllowInvalidation && antiforgery is null)
        {
            throw new InvalidOperationException(
                "CoalescingDashboardOptions.AllowInvalidation needs ASP.NET's antiforgery services for the action's token. Register the dashboard's options with builder.Services.AddCoalescingDashboard(...), which adds them.");
        }

        var page = new DashboardPage(pattern, options, antiforgery,
            DashboardAsset.Load(DashboardPage.ScriptFile, "text/javascript; charset=utf-8"),
            DashboardAsset.Load(DashboardPage.StylesFile, "text/css; charset=utf-8"));
        var invalidation = new DashboardInvalidation(
            options, antiforgery, services.GetRequiredService<MemoCache>(), services.GetRequiredService<HybridCacheTagInvalidator>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger("Coalesce.AspNetCore.Dashboard"));

        var group = endpoints.MapGroup(pattern);
        group.MapGet("", page.WriteAsync).WithDisplayName("Coalesce dashboard");
        group.MapGet("/" + DashboardPage.ScriptFile, Gated(page.Script.WriteAsync)).WithDisplayName("Coalesce dashboard script");
        group.MapGet("/" + DashboardPage.StylesFile, Gated(page.Styles.WriteAsync)).WithDisplayName("Coalesce dashboard styles");
        group.MapGet(DashboardPage.StatsPath, Gated(stats)).WithDisplayName("Coalesce dashboard stats");
        group.MapPost(DashboardPage.InvalidatePath, invalidation.HandleAsync).WithDisplayName("Coalesce dashboard invalidate");
        group.WithMetadata(DisableCoalescingAttribute.Instance).ExcludeFromDescription();
        return group;
    }

    /// <summary>The options as registered (or the defaults), checked here too, so options set without <c>AddCoalescingDashboard</c> are checked as well.</summary>
    private static CoalescingDashboardOptions ReadOptions(IServiceProvider services)
    {
        var options = services.GetService<IOptions<CoalescingDashboardOptions>>()?.Value ?? new CoalescingDashboardOptions();
        var result = new CoalescingDashboardOptionsValidator().Validate(Microsoft.Extensions.Options.Options.DefaultName, options);
        return result.Failed ? throw new OptionsValidationException(Microsoft.Extensions.Options.Options.DefaultName, typeof(CoalescingDashboardOptions), result.Failures) : options;
    }

    /// <summary>An asset or data handler that answers only requests the dashboard admits, with its security headers.</summary>
    private static RequestDelegate Gated(RequestDelegate next) => context =>
    {
        if (!DashboardAccess.IsAllowed(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        DashboardAsset.AddSecurityHeaders(context.Response);
        return next(context);
    };
}
