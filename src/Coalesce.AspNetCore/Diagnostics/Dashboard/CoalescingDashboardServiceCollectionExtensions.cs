using Coalesce.AspNetCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the settings of the coalescing dashboard.</summary>
public static class CoalescingDashboardServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="CoalescingDashboardOptions"/> (validated when the app starts) and ASP.NET's antiforgery
    /// services, which the page's invalidate action needs. Optional: <c>MapCoalescingDashboard</c> without it runs with
    /// the defaults (no invalidate action).
    /// </summary>
    /// <remarks>
    /// A <c>WebApplication</c> puts ASP.NET's antiforgery middleware in its pipeline when the antiforgery services are
    /// registered; it checks only endpoints that ask for it (the dashboard checks its own POST itself).
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts the options; optional.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddCoalescingDashboard(this IServiceCollection services, Action<CoalescingDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<CoalescingDashboardOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddCore(services);
    }

    /// <summary>
    /// Registers the dashboard's settings as <see cref="AddCoalescingDashboard(IServiceCollection, Action{CoalescingDashboardOptions}?)"/>
    /// does, read from a configuration section (for example <c>builder.Configuration.GetSection("Coalesce:Dashboard")</c>:
    /// <c>AllowInvalidation</c>, <c>RefreshInterval</c>, <c>History</c>, times as <c>hh:mm:ss</c>) and then adjusted by
    /// <paramref name="configure"/>. A value that does not parse stops the start with a message naming its configuration path.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The section holding the options.</param>
    /// <param name="configure">Adjusts the options after binding; optional.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddCoalescingDashboard(
        this IServiceCollection services, IConfiguration section, Action<CoalescingDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);

        var options = services.AddOptions<CoalescingDashboardOptions>().Configure(o => CoalescingDashboardOptionsBinder.Bind(section, o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions<CoalescingDashboardOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CoalescingDashboardOptions>, CoalescingDashboardOptionsValidator>());
        services.AddAntiforgery();
        return services;
    }
}
