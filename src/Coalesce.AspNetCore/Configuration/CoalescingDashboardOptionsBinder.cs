using Microsoft.Extensions.Configuration;
using static Coalesce.AspNetCore.ConfigurationReader;

namespace Coalesce.AspNetCore;

/// <summary>
/// Binds <see cref="CoalescingDashboardOptions"/> from a configuration section (for example <c>Coalesce:Dashboard</c>):
/// keys named as the properties, times as <c>hh:mm:ss</c>.
/// </summary>
internal static class CoalescingDashboardOptionsBinder
{
    private const string Options = nameof(CoalescingDashboardOptions);

    public static void Bind(IConfiguration section, CoalescingDashboardOptions options)
    {
        options.AllowInvalidation = ReadBool(section, nameof(options.AllowInvalidation), options.AllowInvalidation, Name(nameof(options.AllowInvalidation)));
        options.RefreshInterval = ReadTimeSpan(section, nameof(options.RefreshInterval), options.RefreshInterval, Name(nameof(options.RefreshInterval)));
        options.History = ReadTimeSpan(section, nameof(options.History), options.History, Name(nameof(options.History)));
    }

    private static string Name(string property) => $"{Options}.{property}";
}
