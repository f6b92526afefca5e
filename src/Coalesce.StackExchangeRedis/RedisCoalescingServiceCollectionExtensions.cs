using System.Globalization;
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
    /// tag invalidation that reaches every instance, a second level for memoized results, and their figures
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
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ILocalTagEvictor, MemoCacheTagEvictor>());
        services.TryAddSingleton(static sp => new RedisCoalescingStatsSource(
            sp.GetRequiredService<RedisConnection>(), sp.GetRequiredService<RedisInvalidationBus>(), sp.GetRequiredService<RedisCounters>()));
        services.TryAddSingleton<IScaleOutStatsSource, RedisScaleOutStats>();
        services.TryAddSingleton<MemoCacheInvalidationPublisher>();
        services.TryAddSingleton<RedisCoalescingMetrics>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RedisCoalescingHostedService>());
        return services;
    }

    private static void Bind(IConfiguration section, RedisCoalescingOptions options)
    {
        options.Configuration = section[nameof(RedisCoalescingOptions.Configuration)] ?? options.Configuration;
        options.KeyPrefix = section[nameof(RedisCoalescingOptions.KeyPrefix)] ?? options.KeyPrefix;
        options.CoalesceAcrossInstances = Read(section, nameof(RedisCoalescingOptions.CoalesceAcrossInstances), options.CoalesceAcrossInstances, bool.TryParse);
        options.ReadYourWrites = Read(section, nameof(RedisCoalescingOptions.ReadYourWrites), options.ReadYourWrites, bool.TryParse);
        options.ReadBudget = Read(section, nameof(RedisCoalescingOptions.ReadBudget), options.ReadBudget, ParseTime);
        options.InvalidationBudget = Read(section, nameof(RedisCoalescingOptions.InvalidationBudget), options.InvalidationBudget, ParseTime);
        options.AckTimeout = Read(section, nameof(RedisCoalescingOptions.AckTimeout), options.AckTimeout, ParseTime);
        options.HeartbeatInterval = Read(section, nameof(RedisCoalescingOptions.HeartbeatInterval), options.HeartbeatInterval, ParseTime);
        options.NodeLiveness = Read(section, nameof(RedisCoalescingOptions.NodeLiveness), options.NodeLiveness, ParseTime);
        options.BreakerProbeInterval = Read(section, nameof(RedisCoalescingOptions.BreakerProbeInterval), options.BreakerProbeInterval, ParseTime);
        options.BreakerFailureThreshold = Read(section, nameof(RedisCoalescingOptions.BreakerFailureThreshold), options.BreakerFailureThreshold, ParseInt);
        options.MaxEntryBytes = Read(section, nameof(RedisCoalescingOptions.MaxEntryBytes), options.MaxEntryBytes, ParseInt);
        options.InvalidationLogLength = Read(section, nameof(RedisCoalescingOptions.InvalidationLogLength), options.InvalidationLogLength, ParseInt);

        static bool ParseTime(string? text, out TimeSpan value) => TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
        static bool ParseInt(string? text, out int value) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value);
    }

    private delegate bool TryParse<T>(string? text, out T value);

    private static T Read<T>(IConfiguration section, string key, T current, TryParse<T> parse)
    {
        var text = section[key];
        if (text is null)
        {
            return current;
        }

        if (parse(text, out var value))
        {
            return value;
        }

        var path = section is IConfigurationSection named ? named.Path + ":" + key : key;
        throw new InvalidOperationException(
            $"Configuration value '{path}' = '{text}' is not a valid {typeof(T).Name} for {nameof(RedisCoalescingOptions)}.{key}.");
    }
}
