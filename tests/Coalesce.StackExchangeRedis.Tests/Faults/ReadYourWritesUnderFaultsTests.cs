using System.Diagnostics;
using System.Net;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Issue 26: faults on one instance's link to Redis must not let a write's 2xx come back before every instance that
/// still serves has the write (or has stopped serving what it covers). Each test injects its fault through the
/// writer's own proxy; the others stay on a healthy link.
/// </summary>
public sealed class ReadYourWritesUnderFaultsTests
{
    [RedisFact]
    public async Task A_write_on_a_stalled_link_is_not_answered_2xx_before_the_others_have_it()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        Assert.Equal("product 1 v1", await FaultCluster.ReadAsync(b, "/products/1"));
        Assert.Equal("product 1 v1", await FaultCluster.ReadAsync(c, "/products/1"));

        // The invalidation is held on A's link longer than the 250 ms publish budget (as a CPU pause or a GC would).
        cluster.Proxies[0].Stall();
        var put = a.Client.PutAsync("/products/1", null);
        if (await Task.WhenAny(put, Task.Delay(TimeSpan.FromSeconds(1))) == put && (await put).IsSuccessStatusCode)
        {
            // The 2xx left while the invalidation was still held: B and C must not serve the old value.
            Assert.Equal("product 1 v2", await FaultCluster.ReadAsync(b, "/products/1"));
        }

        cluster.Proxies[0].Release();
        using var response = await put.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("product 1 v2", await FaultCluster.ReadAsync(b, "/products/1"));
        Assert.Equal("product 1 v2", await FaultCluster.ReadAsync(c, "/products/1"));
    }

    [RedisFact]
    public async Task A_write_over_a_slow_link_waits_for_its_invalidation_rather_than_queue_it()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        Assert.Equal("product 2 v1", await FaultCluster.ReadAsync(b, "/products/2"));
        Assert.Equal("product 2 v1", await FaultCluster.ReadAsync(c, "/products/2"));

        // +200 ms each way: every 50 ms read budget runs out, A's breaker opens and A is no longer synchronized.
        cluster.Proxies[0].AddLatency(TimeSpan.FromMilliseconds(200));
        await Eventually.TrueAsync(() => !a.Bus.IsSynchronized, "A's breaker opened over the slow link");

        var clock = Stopwatch.StartNew();
        using var response = await a.Client.PutAsync("/products/2", null);
        var took = clock.Elapsed;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("product 2 v2", await FaultCluster.ReadAsync(b, "/products/2"));
        Assert.Equal("product 2 v2", await FaultCluster.ReadAsync(c, "/products/2"));
        Console.WriteLine($"write over a +200 ms link: 2xx after {took.TotalMilliseconds:F0} ms");
    }

    [RedisFact]
    public async Task A_write_on_a_link_that_drops_everything_is_not_answered_2xx_and_goes_out_when_the_link_heals()
    {
        await using var cluster = await FaultCluster.StartAsync();
        var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);
        Assert.Equal("product 3 v1", await FaultCluster.ReadAsync(b, "/products/3"));

        cluster.Proxies[0].Blackhole = true;
        await Eventually.TrueAsync(() => !a.Bus.IsSynchronized, "A noticed its link is gone");

        var clock = Stopwatch.StartNew();
        using var response = await a.Client.PutAsync("/products/3", null);
        var took = clock.Elapsed;
        if (response.IsSuccessStatusCode)
        {
            // A 2xx is only right if B no longer serves the old value.
            Assert.Equal("product 3 v2", await FaultCluster.ReadAsync(b, "/products/3"));
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(took < TimeSpan.FromSeconds(4), $"the write failed within the acknowledgement timeout (3 s), took {took}");

        // The write happened (the endpoint ran); once the link heals A publishes it before it uses Redis again.
        cluster.Proxies[0].Blackhole = false;
        clock.Restart();
        await Eventually.TrueAsync(async () => await FaultCluster.ReadAsync(b, "/products/3") == "product 3 v2", "B got the queued invalidation", seconds: 8);
        Console.WriteLine($"blackholed writer: 503 after {took.TotalMilliseconds:F0} ms; B fresh {clock.Elapsed.TotalMilliseconds:F0} ms after the link healed");
        Assert.Equal("product 3 v2", await FaultCluster.ReadAsync(c, "/products/3"));
    }
}
