using Microsoft.AspNetCore.Hosting;
using System.Diagnostics.Metrics;
using Coalesce;
using Coalesce.AspNetCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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

        return AddCore(services);
    }

    /// <summary>
    /// Registers request coalescing as <see cref="AddRequestCoalescing(IServiceCollection, Action{RequestCoalescingOptions}?)"/>
    /// does, with <see cref="RequestCoalescingOptions"/> read from a configuration section (for example
    /// <c>builder.Configuration.GetSection("Coalesce")</c>) and then adjusted by <paramref name="configure"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Keys are named as the options' properties; times are <c>hh:mm:ss</c> (or <c>Infinite</c> for
    /// <see cref="RequestCoalescingOptions.WaitTimeout"/>). A list (<c>VaryByHeaders</c>, <c>IdentityHeaders</c>)
    /// <em>replaces</em> the default list rather than adding to it, so configuration can narrow it; an empty list
    /// (<c>[]</c> or <c>""</c>) clears it. Named policies sit under <c>Policies:{name}</c> with the keys of <see cref="CoalesceAttribute"/>
    /// (<c>MemoizeSeconds</c>, <c>Tags</c>, <c>VaryByQuery</c>, <c>VaryByHeader</c>, <c>WaitTimeoutMilliseconds</c>)
    /// plus <c>VaryByRouteValue</c> and <c>VaryByIdentity</c>.
    /// </para>
    /// <para>
    /// Binding is hand-written, so it is trimming- and AOT-safe. The section is read once, when the app starts; a
    /// value that does not parse stops the start with a message naming its configuration path, and a value out of
    /// range fails validation with a message naming the option.
    /// </para>
    /// </remarks>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The section holding the options.</param>
    /// <param name="configure">Adjusts the options after binding; optional.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRequestCoalescing(
        this IServiceCollection services, IConfiguration section, Action<RequestCoalescingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);

        var options = services.AddOptions<RequestCoalescingOptions>().Configure(o => RequestCoalescingOptionsBinder.Bind(section, o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddOptions<RequestCoalescingOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RequestCoalescingOptions>, RequestCoalescingOptionsRangeValidator>());
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
                LoggerFactory = sp.GetService<ILoggerFactory>(),

                // A scale-out package's second level, for the values callers let serialize (it resolves lazily).
                SecondLevel = sp.GetService<IServiceProviderIsService>()?.IsService(typeof(ISecondLevelStore)) == true
                    ? new ScaleOutMemoCacheLevel(sp)
                    : null,
            });
        });
        services.TryAddSingleton<CoalescingStatsRegistry>();

        // Resolved when the first keyed request to an idempotent endpoint arrives.
        services.TryAddSingleton(static sp => new IdempotencyStore(
            sp.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IMeterFactory>(),
            sp.GetService<ILoggerFactory>()));

        // What each request's pipeline reads is recorded from its very start (RequestInputs).
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, InputRecordingStartupFilter>());
        services.TryAddSingleton<RequestFlights>();
        services.TryAddSingleton<HybridCacheTagInvalidator>();
        // Every endpoint's settings are checked once the pipeline is built, before the server starts listening.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IStartupFilter, CoalescingEndpointsValidator>());
        return services;
    }
}
