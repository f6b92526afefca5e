using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>
/// The dashboard's HTML: one template embedded in the assembly, filled per request with the page's own URLs (the app's
/// path base can differ per request), the asset versions, the settings and, when the invalidate action is on, an
/// antiforgery token. Never cached: it carries the token.
/// </summary>
internal sealed class DashboardPage
{
    public const string ScriptFile = "dashboard.js";
    public const string StylesFile = "dashboard.css";
    public const string StatsPath = "/dashboard/stats";
    public const string InvalidatePath = "/dashboard/invalidate";

    private static readonly SearchValues<char> Forbidden = SearchValues.Create("{}?#*\\");

    private readonly string _template;
    private readonly string _pattern;
    private readonly CoalescingDashboardOptions _options;
    private readonly IAntiforgery? _antiforgery;

    public DashboardPage(string pattern, CoalescingDashboardOptions options, IAntiforgery? antiforgery, DashboardAsset script, DashboardAsset styles)
    {
        _pattern = pattern == "/" ? "" : pattern;
        _options = options;
        _antiforgery = antiforgery;
        Script = script;
        Styles = styles;
        _template = DashboardAsset.LoadText("dashboard.html")
            .Replace("{{scriptVersion}}", script.Version, StringComparison.Ordinal)
            .Replace("{{stylesVersion}}", styles.Version, StringComparison.Ordinal)
            .Replace("{{refreshMs}}", ((long)options.RefreshInterval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{historyMs}}", ((long)options.History.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    public DashboardAsset Script { get; }

    public DashboardAsset Styles { get; }

    /// <summary>
    /// The route pattern a user gave, checked: a literal path from the root (no parameters, query or fragment), without
    /// a trailing slash unless it is the root itself.
    /// </summary>
    public static string CheckPattern(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        if (!pattern.StartsWith('/') || pattern.AsSpan().IndexOfAny(Forbidden) >= 0 || pattern.Any(char.IsWhiteSpace))
        {
            throw new ArgumentException(
                $"The dashboard's pattern '{pattern}' must be a literal path that starts with '/' (such as /_coalesce): no route parameters, query, fragment, wildcard or whitespace.",
                nameof(pattern));
        }

        return pattern.Length > 1 ? pattern.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/" : pattern;
    }

    public async Task WriteAsync(HttpContext context)
    {
        if (!DashboardAccess.IsAllowed(context))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        // Stores the cookie half of the token pair; the page sends the other half with its POST.
        var token = _options.AllowInvalidation && _antiforgery is not null ? _antiforgery.GetAndStoreTokens(context).RequestToken : null;
        var root = context.Request.PathBase.Add(_pattern).Value ?? "";
        var html = _template
            .Replace("{{base}}", HtmlEncoder.Default.Encode(root), StringComparison.Ordinal)
            .Replace("{{token}}", token is null ? "" : HtmlEncoder.Default.Encode(token), StringComparison.Ordinal)
            .Replace("{{invalidation}}", token is null ? "off" : "on", StringComparison.Ordinal);

        var response = context.Response;
        DashboardAsset.AddSecurityHeaders(response);
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/html; charset=utf-8";
        await response.WriteAsync(html, context.RequestAborted).ConfigureAwait(false);
    }
}
