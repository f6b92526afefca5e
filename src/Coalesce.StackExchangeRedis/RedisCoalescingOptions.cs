using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Settings of the Redis level (<c>AddStackExchangeRedisCoalescing</c>). Set exactly one of
/// <see cref="Configuration"/>, <see cref="ConfigurationOptions"/> and <see cref="ConnectionMultiplexerFactory"/>.
/// Checked when the app starts; a bad value stops the start with a message that names the option.
/// </summary>
public sealed class RedisCoalescingOptions
{
    /// <summary>A StackExchange.Redis configuration string, for example <c>127.0.0.1:6379</c>. Default: none.</summary>
    /// <remarks><c>abortConnect</c> is always turned off, so the app starts while Redis is unreachable.</remarks>
    public string? Configuration { get; set; }

    /// <summary>StackExchange.Redis configuration, used instead of <see cref="Configuration"/>. Default: none.</summary>
    /// <remarks>A copy is used, with <c>AbortOnConnectFail</c> off.</remarks>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>
    /// Returns an existing multiplexer (typically the app's <see cref="IConnectionMultiplexer"/> from DI), which is
    /// then shared rather than owned: it is not closed when the app stops. Default: none.
    /// </summary>
    public Func<IServiceProvider, IConnectionMultiplexer>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// Starts every key and channel, so apps that share one Redis stay apart. It becomes a Redis Cluster hash tag
    /// (<c>{coalesce}:…</c>), so all of an app's keys share one slot and its scripts stay legal. Default: <c>coalesce</c>.
    /// </summary>
    public string KeyPrefix { get; set; } = "coalesce";

    /// <summary>
    /// Whether a miss is to run once across all instances rather than once per instance. Default: <see langword="true"/>.
    /// Not yet in effect in this version: each instance coalesces its own requests, and shares only what it renders
    /// for memoized endpoints through the second level.
    /// </summary>
    public bool CoalesceAcrossInstances { get; set; } = true;

    /// <summary>
    /// Whether a write's 2xx is sent only after every live instance has evicted its tags. Off, other instances may
    /// serve the old response for the time pub/sub takes to deliver. Default: <see langword="true"/>.
    /// </summary>
    public bool ReadYourWrites { get; set; } = true;

    /// <summary>How long a read, a lease or a heartbeat may take before it counts as a miss. Default: 50 ms.</summary>
    public TimeSpan ReadBudget { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long publishing an invalidation may take before it is queued for later. Default: 250 ms.</summary>
    public TimeSpan InvalidationBudget { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest a write waits for other instances to confirm an invalidation (<see cref="ReadYourWrites"/>).
    /// An instance that stops being live ends its wait earlier. Default: 3 s.
    /// </summary>
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often an instance tells the others that it is live and following invalidations. Default: 1 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long after its last heartbeat an instance still counts as live, so writers wait for it.
    /// Must exceed <see cref="HeartbeatInterval"/>. Default: 3 s.
    /// </summary>
    public TimeSpan NodeLiveness { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How many Redis calls in a row may fail before the breaker opens and Redis is left alone. Default: 3.</summary>
    public int BreakerFailureThreshold { get; set; } = 3;

    /// <summary>How often an open breaker checks Redis with a PING. Default: 1 s.</summary>
    public TimeSpan BreakerProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest payload the second level takes; larger ones stay local. Default: 1 MiB.</summary>
    public int MaxEntryBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How many invalidations the log keeps for instances that reconnect and catch up; one that missed more flushes
    /// its local entries instead. Default: 10,000.
    /// </summary>
    public int InvalidationLogLength { get; set; } = 10_000;
}
