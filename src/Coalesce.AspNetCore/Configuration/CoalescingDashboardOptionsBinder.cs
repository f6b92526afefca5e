using Microsoft.Extensions.Configuration;

namespace Coalesce.AspNetCore;

/// <summary>
/// Binds <see cref="CoalescingDashboardOptions"/> from a configuration section (for example <c>Coalesce:Dashboard</c>):
/// keys named as the properties, times as <c>hh:mm:ss</c>; a key the options do not have is reported.
/// </summary>
internal static class CoalescingDashboardOptionsBinder
{
    public static void Bind(IConfiguration configuration, CoalescingDashboardOptions options)
    {
        var section = new OptionsSection(configuration, nameof(CoalescingDashboardOptions));
        options.AllowInvalidation = section.Bool(nameof(options.AllowInvalidation), options.AllowInvalidation);
        options.RefreshInterval = section.Time(nameof(options.RefreshInterval), options.RefreshInterval);
        options.History = section.Time(nameof(options.History), options.History);
        section.RejectUnknownKeys();
    }
}
