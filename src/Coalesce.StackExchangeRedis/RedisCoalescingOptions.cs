using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using Coalesce.AspNetCore;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Settings of the Redis level (<c>AddStackExchangeRedisCoalescing</c>). Set exactly one of
/// <see cref="Configuration"/>, <see cref="ConfigurationOptions"/> and <see cref="ConnectionMultiplexerFactory"/>.
/// Checked when the app starts; a bad value stops the start with a message that names the option.
/// </summary>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class RedisCoalescingOptions
{
    /// <summary>A StackExchange.Redis configuration string, for example <c>127.0.0.1:6379</c>. Default: none.</summary>
    /// <remarks>
    /// <c>abortConnect</c> is always turned off, so the app starts while Redis is unreachable. See
    /// docs/across-instances.md in the repository.
    /// </remarks>
    public string? Configuration { get; set; }

    /// <summary>StackExchange.Redis configuration, used instead of <see cref="Configuration"/>. Default: none.</summary>
    /// <remarks>A copy is used, with <c>AbortOnConnectFail</c> off. See docs/across-instances.md in the repository.</remarks>
    public ConfigurationOptions? ConfigurationOptions { get; set; }

    /// <summary>
    /// Returns an existing multiplexer (typically the app's <see cref="IConnectionMultiplexer"/> from DI), which is
    /// then shared rather than owned: it is not closed when the app stops. Default: none.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    public Func<IServiceProvider, IConnectionMultiplexer>? ConnectionMultiplexerFactory { get; set; }

    /// <summary>
    /// Starts every key and channel, so apps that share one Redis stay apart. The shared state (seq, log, stamps) is
    /// under it as a Redis Cluster hash tag (<c>{coalesce}:…</c>), one slot; a request key's entry, lease and fills are
    /// under <c>coalesce:{hash}:…</c>, so on a cluster they spread over the shards by key. Default: <c>coalesce</c>.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    public string KeyPrefix { get; set; } = "coalesce";

    /// <summary>
    /// Whether a miss is to run once across all instances rather than once per instance. Default: <see langword="true"/>.
    /// </summary>
    /// <remarks>
    /// The first instance to miss takes a lease on the key in Redis and runs the endpoint; the others wait for it
    /// (each with its own requests for the key waiting behind one) and answer from its result: a memoized response
    /// from the second level, any other shareable response from a copy kept a few seconds for them. A response that
    /// must not be shared sends them to run their own. A wait lasts at most the endpoint's wait timeout; an instance
    /// that dies while it leads is taken over when its lease lapses (<see cref="LeaseDuration"/>). Off, each instance
    /// coalesces only its own requests, and shares only memoized responses through the second level.
    /// See docs/across-instances.md in the repository.
    /// </remarks>
    public bool CoalesceAcrossInstances { get; set; } = true;

    /// <summary>
    /// How long a lease on a key's execution lasts without renewal (<see cref="CoalesceAcrossInstances"/>). The
    /// instance running the endpoint renews it every third of this while it runs, so it bounds how long the others
    /// wait for an instance that died or lost Redis mid-execution before one of them takes over. Default: 10 s.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00.1", "00:10:00")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether a write's 2xx is sent only after every live instance has evicted its tags. When that can't be
    /// confirmed within <see cref="AckTimeout"/> (this instance has no link to Redis, the publish got no answer, or a
    /// live instance never confirmed), the write is answered 503 with <c>Retry-After</c> instead, and its invalidation
    /// is queued. Off, writes never wait or fail, and other instances may serve the old response until the
    /// invalidation reaches them (pub/sub delivery, or Redis coming back). Default: <see langword="true"/>.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    public bool ReadYourWrites { get; set; } = true;

    /// <summary>How long a read, a lease or a heartbeat may take before it counts as a miss. Default: 50 ms.</summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan ReadBudget { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long publishing an invalidation in the background (direct <c>MemoCache</c> invalidations, queued ones) may
    /// take before it is queued for later. A write's own invalidation has <see cref="AckTimeout"/>. Default: 250 ms.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:30", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan InvalidationBudget { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// The longest a write waits for its invalidation to be published and confirmed by the other live instances
    /// (<see cref="ReadYourWrites"/>); the publish may use it all, past <see cref="InvalidationBudget"/>. An instance
    /// that stops being live ends its wait earlier; past this bound the write is answered 503. Default: 3 s.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How often an instance tells the others that it is live and following invalidations. Default: 1 s.</summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long after its last heartbeat an instance still counts as live, so writers wait for it.
    /// Must exceed <see cref="HeartbeatInterval"/>. Default: 3 s.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan NodeLiveness { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>How many Redis calls in a row may fail before the breaker opens and Redis is left alone. Default: 3.</summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(1, 1000)]
    public int BreakerFailureThreshold { get; set; } = 3;

    /// <summary>How often an open breaker checks Redis with a PING. Default: 1 s.</summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan BreakerProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The largest payload the second level takes; larger ones stay local. Default: 1 MiB.</summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(1, RedisCoalescingOptionsValidator.MaxEntryBytesLimit)]
    public int MaxEntryBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How many invalidations the log keeps for instances that reconnect and catch up; one that missed more flushes
    /// its local entries instead. Default: 10,000.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    [Range(1, 10_000_000)]
    public int InvalidationLogLength { get; set; } = 10_000;

    /// <summary>How long a response handed to waiting instances stays in Redis for them (they read it at once).</summary>
    internal TimeSpan FillTimeToLive { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A waiting instance is woken by a notice; it also asks again after this (then twice as long each time, up to
    /// <see cref="RemoteWaitMaxPollInterval"/>, with jitter), so a lost notice costs latency, not correctness.
    /// </summary>
    internal TimeSpan RemoteWaitPollInterval { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>The longest pause between two polls of a waiting instance.</summary>
    internal TimeSpan RemoteWaitMaxPollInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}
