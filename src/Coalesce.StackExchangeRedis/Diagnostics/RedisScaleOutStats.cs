using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis;

/// <summary>The Redis figures as the stats endpoint's <c>redis</c> object.</summary>
internal sealed class RedisScaleOutStats(RedisCoalescingStatsSource source) : IScaleOutStatsSource
{
    public ScaleOutStats GetStats()
    {
        var s = source.GetSnapshot();
        return new ScaleOutStats(
            s.Connected, s.BreakerOpen, s.Synchronized, s.L2Hits, s.L2Misses, s.L2Writes, s.L2Oversize, s.RemoteWaits,
            s.LeasesWon, s.Takeovers, s.FillsPublished, s.FillsReceived, s.Passes,
            s.InvalidationsPublished, s.InvalidationsReceived, s.InvalidationsDeferred, s.AckTimeouts, s.Errors,
            s.BreakerOpenings, s.CurrentSeq);
    }
}
