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
        Assert.NotSame(held, await Task.WhenAny(held, Task.Delay(300)));
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
        Assert.NotSame(lost, await Task.WhenAny(lost, Task.Delay(300)));

        proxy.ResetAll();
        await Assert.ThrowsAnyAsync<Exception>(() => lost.WaitAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(0, proxy.OpenConnections);

        proxy.Heal();
        await using var again = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG", await again.CommandAsync("PING"));
    }
}
