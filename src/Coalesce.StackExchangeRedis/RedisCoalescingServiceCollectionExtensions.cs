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
    private static void Bind(IConfiguration section, RedisCoalescingOptions options)
    {
        options.Configuration = section[nameof(RedisCoalescingOptions.Configuration)] ?? options.Configuration;
        options.KeyPrefix = section[nameof(RedisCoalescingOptions.KeyPrefix)] ?? options.KeyPrefix;
        options.CoalesceAcrossInstances = ConfigurationReader.ReadBool(section, nameof(options.CoalesceAcrossInstances), options.CoalesceAcrossInstances, Name(nameof(options.CoalesceAcrossInstances)));
        options.ReadYourWrites = ConfigurationReader.ReadBool(section, nameof(options.ReadYourWrites), options.ReadYourWrites, Name(nameof(options.ReadYourWrites)));
        options.ReadBudget = ConfigurationReader.ReadTimeSpan(section, nameof(options.ReadBudget), options.ReadBudget, Name(nameof(options.ReadBudget)));
        options.InvalidationBudget = ConfigurationReader.ReadTimeSpan(section, nameof(options.InvalidationBudget), options.InvalidationBudget, Name(nameof(options.InvalidationBudget)));
        options.AckTimeout = ConfigurationReader.ReadTimeSpan(section, nameof(options.AckTimeout), options.AckTimeout, Name(nameof(options.AckTimeout)));
        options.HeartbeatInterval = ConfigurationReader.ReadTimeSpan(section, nameof(options.HeartbeatInterval), options.HeartbeatInterval, Name(nameof(options.HeartbeatInterval)));
        options.NodeLiveness = ConfigurationReader.ReadTimeSpan(section, nameof(options.NodeLiveness), options.NodeLiveness, Name(nameof(options.NodeLiveness)));
        options.LeaseDuration = ConfigurationReader.ReadTimeSpan(section, nameof(options.LeaseDuration), options.LeaseDuration, Name(nameof(options.LeaseDuration)));
        options.BreakerProbeInterval = ConfigurationReader.ReadTimeSpan(section, nameof(options.BreakerProbeInterval), options.BreakerProbeInterval, Name(nameof(options.BreakerProbeInterval)));
        options.BreakerFailureThreshold = ConfigurationReader.ReadInt(section, nameof(options.BreakerFailureThreshold), options.BreakerFailureThreshold, Name(nameof(options.BreakerFailureThreshold)));
        options.MaxEntryBytes = ConfigurationReader.ReadInt(section, nameof(options.MaxEntryBytes), options.MaxEntryBytes, Name(nameof(options.MaxEntryBytes)));
        options.InvalidationLogLength = ConfigurationReader.ReadInt(section, nameof(options.InvalidationLogLength), options.InvalidationLogLength, Name(nameof(options.InvalidationLogLength)));

        static string Name(string property) => $"{nameof(RedisCoalescingOptions)}.{property}";
    }
}
