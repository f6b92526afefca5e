using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>Checks <see cref="CoalescingDashboardOptions"/> at start-up; every message names the option and its range.</summary>
internal sealed class CoalescingDashboardOptionsValidator : IValidateOptions<CoalescingDashboardOptions>
{
    internal const int MinPointsPerChart = 10;

    public ValidateOptionsResult Validate(string? name, CoalescingDashboardOptions options)
    {
        List<string>? failures = null;

        var refreshValid = options.RefreshInterval >= CoalescingDashboardOptions.MinRefreshInterval &&
            options.RefreshInterval <= CoalescingDashboardOptions.MaxRefreshInterval;
        if (!refreshValid)
        {
            Add($"{nameof(CoalescingDashboardOptions.RefreshInterval)} is {options.RefreshInterval}; it must be between {CoalescingDashboardOptions.MinRefreshInterval} and {CoalescingDashboardOptions.MaxRefreshInterval}.");
        }

        // Measured against the refresh interval only when that is valid itself, so one bad value gives one message.
        var shortest = (refreshValid ? options.RefreshInterval : CoalescingDashboardOptions.MinRefreshInterval) * MinPointsPerChart;
        if (options.History < shortest || options.History > CoalescingDashboardOptions.MaxHistory)
        {
            Add($"{nameof(CoalescingDashboardOptions.History)} is {options.History}; it must be between {MinPointsPerChart} times {nameof(CoalescingDashboardOptions.RefreshInterval)} ({shortest}) and {CoalescingDashboardOptions.MaxHistory}.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Add(string failure) => (failures ??= []).Add(failure);
    }
}
