namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The Redis level's figures at one moment (<see cref="RedisCoalescingStatsSource.GetSnapshot"/>); the
/// <c>Coalesce</c> meter publishes the same under <c>coalesce.scaleout.*</c>. Counters run since the app started.
/// </summary>
/// <param name="Connected">Whether the connection to Redis is up.</param>
/// <param name="BreakerOpen">Whether Redis is being left alone (down, failing, or this instance not caught up yet).</param>
/// <param name="Synchronized">Whether this instance follows other instances' invalidations now.</param>
/// <param name="L2Hits">Second-level reads that returned an entry.</param>
/// <param name="L2Misses">Second-level reads that did not (absent, stale, or Redis gave no answer in time).</param>
/// <param name="L2Writes">Entries stored in the second level.</param>
/// <param name="L2Oversize">Entries over the size cap, kept local only.</param>
/// <param name="RemoteWaits">Requests that waited for another instance's execution (one per key per instance at a time).</param>
/// <param name="LeasesWon">Leases this instance won: executions it ran for every instance.</param>
/// <param name="Takeovers">Leases won while waiting: the other instance released its lease without a result, or it lapsed.</param>
/// <param name="FillsPublished">Executions whose result this instance shared with waiting instances (stored or handed over).</param>
/// <param name="FillsReceived">Waits here ended by a notice that another instance's result was ready (rather than by polling).</param>
/// <param name="Passes">Executions whose response must not be shared: the waiting instances ran their own (hit-for-pass).</param>
/// <param name="InvalidationsPublished">Invalidations this instance published.</param>
/// <param name="InvalidationsReceived">Invalidations from other instances that this instance applied.</param>
/// <param name="InvalidationsDeferred">Invalidations queued because Redis was unavailable, published when it came back.</param>
/// <param name="AckTimeouts">Invalidations that not every live instance confirmed within the acknowledgement timeout.</param>
/// <param name="Errors">Redis calls that failed or ran out of their budget.</param>
/// <param name="BreakerOpenings">How often the breaker opened.</param>
/// <param name="CurrentSeq">The highest invalidation seq this instance has seen.</param>
/// <param name="UnsynchronizedSince">
/// Since when this instance has not followed the other instances' invalidations (from its start until it first
/// synchronized, or from the first cause of a lapse); <see langword="null"/> while <paramref name="Synchronized"/>.
/// </param>
/// <param name="DisconnectedSince">
/// Since when Redis has not answered this instance (from its start until the first answer, or from a failed connection,
/// the failures that opened the breaker or a failed probe until the next answer); <see langword="null"/> while it answers.
/// </param>
public sealed record RedisCoalescingStats(
    bool Connected,
    bool BreakerOpen,
    bool Synchronized,
    long L2Hits,
    long L2Misses,
    long L2Writes,
    long L2Oversize,
    long RemoteWaits,
    long LeasesWon,
    long Takeovers,
    long FillsPublished,
    long FillsReceived,
    long Passes,
    long InvalidationsPublished,
    long InvalidationsReceived,
    long InvalidationsDeferred,
    long AckTimeouts,
    long Errors,
    long BreakerOpenings,
    long CurrentSeq,
    DateTimeOffset? UnsynchronizedSince,
    DateTimeOffset? DisconnectedSince);
