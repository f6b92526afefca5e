using System.Diagnostics;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>The fault proxy itself: each fault does what the fault tests rely on.</summary>
public sealed class FaultProxyTests
{
    [RedisFact]
    public async Task Latency_is_added_per_direction_and_a_stall_holds_bytes_until_released()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var proxy = FaultProxy.Start(redis.Port);
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG", await client.CommandAsync("PING"));

        proxy.UpstreamLatency = TimeSpan.FromMilliseconds(150);
        proxy.DownstreamLatency = TimeSpan.FromMilliseconds(100);
        var clock = Stopwatch.StartNew();
        Assert.Equal("+PONG", await client.CommandAsync("PING"));
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(240), TimeSpan.FromSeconds(2));

        proxy.Heal();
        proxy.Stall();
        var held = client.CommandAsync("PING");

        // The PING is held in the proxy: Redis has not got it, so no answer can have come.
        await Eventually.TrueAsync(() => proxy.HeldChunks > 0, "the proxy holds the PING");
        Assert.False(held.IsCompleted);
        proxy.Release();
        Assert.Equal("+PONG", await held.WaitAsync(TimeSpan.FromSeconds(2)));
    }

    [RedisFact]
    public async Task A_blackhole_drops_bytes_and_a_reset_closes_the_connection()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var proxy = FaultProxy.Start(redis.Port);
        await using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG", await client.CommandAsync("PING"));

        proxy.Blackhole = true;
        var lost = client.CommandAsync("PING");

        // The PING was dropped: Redis never got it, so no answer can come.
        await Eventually.TrueAsync(() => proxy.DroppedBytes > 0, "the proxy dropped the PING");
        Assert.False(lost.IsCompleted);

        proxy.ResetAll();
        await Assert.ThrowsAnyAsync<Exception>(() => lost.WaitAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(0, proxy.OpenConnections);

        proxy.Heal();
        await using var again = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG", await again.CommandAsync("PING"));
    }
}
