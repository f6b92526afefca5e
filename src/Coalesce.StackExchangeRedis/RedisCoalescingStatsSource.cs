using System.Text.Json;
using System.Text.Json.Nodes;
using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Reads the Redis level's figures. Resolvable from DI after <c>AddStackExchangeRedisCoalescing</c>; the same
/// snapshot is the <c>redis</c> object of <c>GET /_coalesce/stats</c> and what the <c>coalesce.scaleout.*</c>
/// instruments read.
/// </summary>
public sealed class RedisCoalescingStatsSource : IScaleOutStatsSource
{
    private readonly RedisConnection _connection;
    private readonly RedisInvalidationBus _bus;
    private readonly RedisCounters _counters;

    internal RedisCoalescingStatsSource(RedisConnection connection, RedisInvalidationBus bus, RedisCounters counters)
    {
        _connection = connection;
        _bus = bus;
        _counters = counters;
    }

    /// <summary>Reads every figure once.</summary>
    public RedisCoalescingStats GetSnapshot()
    {
        var notSynchronized = _bus.NotSynchronized;
        return new(
            _connection.IsConnected,
            _connection.Breaker.IsOpen,
            notSynchronized is null,
            _counters.L2Hits,
            _counters.L2Misses,
            _counters.L2Writes,
            _counters.L2Refused,
            _counters.RemoteWaits,
            _counters.LeasesWon,
            _counters.Takeovers,
            _counters.FillsPublished,
            _counters.FillsReceived,
            _counters.Passes,
            _counters.InvalidationsPublished,
            _counters.InvalidationsReceived,
            _counters.InvalidationsDeferred,
            _counters.AckTimeouts,
            _counters.Errors,
            _connection.Breaker.Openings,
            _bus.CurrentSeq,
            notSynchronized?.Since,
            _connection.UnreachableSince);
    }

    /// <inheritdoc/>
    JsonNode IScaleOutStatsSource.GetStatsJson() => JsonSerializer.SerializeToNode(GetSnapshot(), RedisJsonContext.Default.RedisCoalescingStats)!;
}
