using System.Diagnostics.Metrics;
using Coalesce;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers request coalescing.</summary>
public static class RequestCoalescingServiceCollectionExtensions
{
    /// <summary>
    /// Registers what <c>UseRequestCoalescing</c> needs: its options (validated when the app starts), the app's
    /// <see cref="MemoCache"/> for memoized endpoints (bounded by <see cref="RequestCoalescingOptions.MemoMaxEntries"/>,
    /// <see cref="RequestCoalescingOptions.MemoMaxBytes"/> and <see cref="RequestCoalescingOptions.MemoMaxEntryBytes"/>), the <see cref="CoalescingStatsRegistry"/>, the
    /// <c>Coalesce</c> meter and a <see cref="TimeProvider"/> (the system clock unless one is registered).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Adjusts <see cref="RequestCoalescingOptions"/>; optional.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestCoalescing(this IServiceCollection services, Action<RequestCoalescingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<RequestCoalescingOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestCoalescingOptions>, RequestCoalescingOptionsValidator>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(static sp =>
        {
            var coalescing = sp.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;
            return new MemoCache(new MemoCacheOptions
            {
                Name = "default",
                MaxEntries = coalescing.MemoMaxEntries,
                MaxBytes = coalescing.MemoMaxBytes,
                MaxEntryBytes = coalescing.MemoMaxEntryBytes,
                TimeProvider = sp.GetRequiredService<TimeProvider>(),
                MeterFactory = sp.GetRequiredService<IMeterFactory>(),
            });
        });
        services.TryAddSingleton<CoalescingStatsRegistry>();
        services.TryAddSingleton<RequestFlights>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CoalescingEndpointsValidator>());
        return services;
    }
}
