using Coalesce;
using Coalesce.AspNetCore;
using Coalesce.StackExchangeRedis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis level of Coalesce.</summary>
public static class RedisCoalescingServiceCollectionExtensions
{
    /// <summary>
    /// Adds the Redis level: one shared multiplexer (connected in the background, so the app starts without Redis),
    /// tag invalidation that reaches every instance, a second level for memoized results, one execution per key
    /// across instances (<see cref="RedisCoalescingOptions.CoalesceAcrossInstances"/>), and their figures
    /// (<see cref="RedisCoalescingStatsSource"/>, the <c>coalesce.scaleout.*</c> instruments). Also adds what
    /// <c>AddRequestCoalescing</c> adds. Options are checked when the app starts.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets <see cref="RedisCoalescingOptions"/>; one connection source is required.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddStackExchangeRedisCoalescing(this IServiceCollection services, Action<RedisCoalescingOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<RedisCoalescingOptions>().Configure(configure);
        return AddCore(services);
    }

    /// <summary>
    /// Adds the Redis level with options read from a configuration section (for example <c>Coalesce:Redis</c>):
    /// keys named as the options' properties, times as <c>hh:mm:ss.fff</c>. A value that does not parse stops the
    /// start with a message naming the key.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="section">The section holding the options.</param>
    /// <param name="configure">Adjusts the options after binding; optional.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddStackExchangeRedisCoalescing(
        this IServiceCollection services, IConfiguration section, Action<RedisCoalescingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(section);
        var options = services.AddOptions<RedisCoalescingOptions>().Configure(o => Bind(section, o));
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return AddCore(services);
    }

    private static IServiceCollection AddCore(IServiceCollection services)
    {
        services.AddRequestCoalescing();
        services.AddOptions<RedisCoalescingOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisCoalescingOptions>, RedisCoalescingOptionsRangeValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisCoalescingOptions>, RedisCoalescingOptionsValidator>());
        services.TryAddSingleton<RedisCounters>();
        services.TryAddSingleton<RedisConnection>();
        services.TryAddSingleton<RedisInvalidationBus>();
        services.TryAddSingleton<IDistributedInvalidation>(static sp => sp.GetRequiredService<RedisInvalidationBus>());
        services.TryAddSingleton<RedisSecondLevelStore>();
        services.TryAddSingleton<ISecondLevelStore>(static sp => sp.GetRequiredService<RedisSecondLevelStore>());
        services.TryAddSingleton<RedisSingleFlight>();
        services.TryAddSingleton<IDistributedSingleFlight>(static sp => sp.GetRequiredService<RedisSingleFlight>());
        services.TryAddSingleton<RedisIdempotency>();
        services.TryAddSingleton<IDistributedIdempotency>(static sp => sp.GetRequiredService<RedisIdempotency>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILocalEvictor, MemoCacheEvictor>());
        services.TryAddSingleton(static sp => new RedisCoalescingStatsSource(
            sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<RedisInvalidationBus>(), sp.GetRequiredService<RedisCounters>()));
        services.TryAddSingleton<IScaleOutStatsSource>(static sp => sp.GetRequiredService<RedisCoalescingStatsSource>());
        services.TryAddSingleton<MemoCacheInvalidationPublisher>();
        services.TryAddSingleton<RedisCoalescingMetrics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisCoalescingHostedService>());
        return services;
    }

    /// <summary>Binds by hand with the reader the other Coalesce options use: AOT-safe, and a value that does not parse names its path.</summary>
    private static void Bind(IConfiguration configuration, RedisCoalescingOptions options)
    {
        var section = new OptionsSection(configuration, nameof(RedisCoalescingOptions));
        options.Configuration = section.Text(nameof(options.Configuration), options.Configuration);
        options.KeyPrefix = section.Text(nameof(options.KeyPrefix), options.KeyPrefix) ?? options.KeyPrefix;
        options.CoalesceAcrossInstances = section.Bool(nameof(options.CoalesceAcrossInstances), options.CoalesceAcrossInstances);
        options.ReadYourWrites = section.Bool(nameof(options.ReadYourWrites), options.ReadYourWrites);
        options.ReadBudget = section.Time(nameof(options.ReadBudget), options.ReadBudget);
        options.InvalidationBudget = section.Time(nameof(options.InvalidationBudget), options.InvalidationBudget);
        options.AckTimeout = section.Time(nameof(options.AckTimeout), options.AckTimeout);
        options.HeartbeatInterval = section.Time(nameof(options.HeartbeatInterval), options.HeartbeatInterval);
        options.NodeLiveness = section.Time(nameof(options.NodeLiveness), options.NodeLiveness);
        options.LeaseDuration = section.Time(nameof(options.LeaseDuration), options.LeaseDuration);
        options.BreakerProbeInterval = section.Time(nameof(options.BreakerProbeInterval), options.BreakerProbeInterval);
        options.BreakerFailureThreshold = section.Int(nameof(options.BreakerFailureThreshold), options.BreakerFailureThreshold);
        options.MaxEntryBytes = section.Int(nameof(options.MaxEntryBytes), options.MaxEntryBytes);
        options.InvalidationLogLength = section.Int(nameof(options.InvalidationLogLength), options.InvalidationLogLength);
        section.RejectUnknownKeys();
    }
}
