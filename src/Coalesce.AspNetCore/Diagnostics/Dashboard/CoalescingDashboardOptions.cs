namespace Coalesce.AspNetCore;

/// <summary>
/// Settings for the page <c>MapCoalescingDashboard</c> maps. Registered with <c>AddCoalescingDashboard</c> (from
/// code or a configuration section such as <c>Coalesce:Dashboard</c>), validated at start-up; without that call the
/// page runs with these defaults.
/// </summary>
/// <remarks>docs/dashboard.md in the repository has what the page shows and who may see it.</remarks>
public sealed class CoalescingDashboardOptions
{
    /// <summary>The shortest <see cref="RefreshInterval"/>: 250 ms.</summary>
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest <see cref="RefreshInterval"/>: 1 minute.</summary>
    public static readonly TimeSpan MaxRefreshInterval = TimeSpan.FromMinutes(1);

    /// <summary>The longest <see cref="History"/>: 1 hour.</summary>
    public static readonly TimeSpan MaxHistory = TimeSpan.FromHours(1);

    /// <summary>
    /// Whether the page offers its one action, invalidating a tag, a key or every entry of the app's
    /// <see cref="MemoCache"/> (and, with a scale-out package, on every instance). The action is a POST that needs
    /// ASP.NET's antiforgery token, which the page carries. Default: <see langword="false"/>: the action answers 404.
    /// </summary>
    public bool AllowInvalidation { get; set; }

    /// <summary>How often the page reads the figures. Default: 2 seconds. Range: 250 ms to 1 minute.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How far back the page's charts reach (the page keeps what it read since it was opened, up to this).
    /// Default: 5 minutes. Range: at least 10 refresh intervals, at most 1 hour.
    /// </summary>
    public TimeSpan History { get; set; } = TimeSpan.FromMinutes(5);
}
