namespace Coalesce.AspNetCore;

/// <summary>
/// The scale-out level's figures for <c>GET /_coalesce/stats</c>, which shows them as its <c>redis</c> object.
/// Registered by a scale-out package (for example <c>AddStackExchangeRedisCoalescing</c>); absent otherwise, and
/// then the object is absent too.
/// </summary>
internal interface IScaleOutStatsSource
{
    ScaleOutStats GetStats();
}

/// <summary>The scale-out figures at one moment; counters run since the app started.</summary>
/// <param name="Connected">Whether the shared store is connected.</param>
/// <param name="BreakerOpen">Whether the shared store is being left alone (down, failing, or not caught up yet).</param>
/// <param name="Synchronized">Whether this instance follows other instances' invalidations now.</param>
/// <param name="L2Hits">Second-level reads that returned an entry.</param>
/// <param name="L2Misses">Second-level reads that did not.</param>
/// <param name="L2Writes">Entries stored in the second level.</param>
/// <param name="L2Oversize">Entries over the size cap, kept local only.</param>
/// <param name="RemoteWaits">Requests that waited for another instance's execution.</param>
/// <param name="LeasesWon">Executions this instance ran for every instance (leases won).</param>
/// <param name="Takeovers">Leases won while waiting for another instance's (released without a result, or lapsed).</param>
/// <param name="FillsPublished">Executions whose result this instance shared with waiting instances.</param>
/// <param name="FillsReceived">Waits here ended by a notice that another instance's result was ready.</param>
/// <param name="Passes">Executions whose response must not be shared, so waiting instances ran their own.</param>
/// <param name="InvalidationsPublished">Invalidations this instance published.</param>
/// <param name="InvalidationsReceived">Invalidations from other instances that this instance applied.</param>
/// <param name="InvalidationsDeferred">Invalidations queued while the shared store was unavailable.</param>
/// <param name="AckTimeouts">Invalidations not every live instance confirmed in time.</param>
/// <param name="Errors">Calls to the shared store that failed or ran out of their budget.</param>
/// <param name="BreakerOpenings">How often the breaker opened.</param>
/// <param name="CurrentSeq">The highest invalidation seq this instance has seen.</param>
internal sealed record ScaleOutStats(
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
    long CurrentSeq);

/// <summary>The stats document with the scale-out object after the fields it always has (which keep their names).</summary>
internal sealed record CoalescingStatsWithScaleOut(
    FlightCounts Requests,
    CacheCounts Cache,
    IReadOnlyList<EndpointCounts> Endpoints,
    IReadOnlyList<HttpClientCounts> HttpClients,
    ScaleOutStats Redis)
{
    public static CoalescingStatsWithScaleOut From(CoalescingStatsSnapshot snapshot, ScaleOutStats redis) =>
        new(snapshot.Requests, snapshot.Cache, snapshot.Endpoints, snapshot.HttpClients, redis);
}
