using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// On a real three-master Redis Cluster: a request key's keys (entry, lease, fill) sit in their own slot, so the keys
/// of many request keys spread over every master, while the shared state (seq, stamps, log) stays in one slot and
/// invalidations go over sharded pub/sub.
/// </summary>
public sealed class RedisClusterTests
{
    private static readonly byte[] Payload = [1, 2, 3];

    [RedisFact]
    public async Task Entries_and_leases_spread_over_all_three_masters_and_stay_valid_by_their_stamps()
    {
        await using var cluster = await RedisClusterFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(cluster.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        Assert.True(a.Connection.IsCluster);
        Assert.True(a.Connection.Keys.Sharded);
        Assert.True(a.Connection.Keys.InvalidationChannel.IsSharded);

        var start = (await a.Invalidation.ReadSeqAsync(CancellationToken.None))!.Value;
        for (var i = 0; i < 60; i++)
        {
            Assert.Equal(
                SecondLevelWriteResult.Stored,
                await a.Store.TrySetAsync($"GET /products/{i}", Payload, TimeSpan.FromSeconds(30), ["products", $"p:{i}"], start, CancellationToken.None));
        }

        // 60 request keys hash to slots all over the cluster: every master holds some of their entries.
        var entries = await cluster.CountKeysAsync("coalesce:{*}:e");
        Assert.Equal(60, entries.Sum());
        Assert.All(entries, count => Assert.InRange(count, 1, 59));
        // The shared state is in one slot, so on one master.
        Assert.Equal(1, (await cluster.CountKeysAsync("{coalesce}:t:products")).Count(count => count == 1));

        Assert.NotNull(await b.Store.TryGetAsync("GET /products/7", ["p:7", "products"], CancellationToken.None));

        // One tag stamp, on the shared slot's master, makes entries on every master stale; another tag's entries stay.
        await b.Invalidation.PublishInvalidationAsync(["p:7"], CancellationToken.None);
        Assert.Null(await a.Store.TryGetAsync("GET /products/7", ["p:7", "products"], CancellationToken.None));
        Assert.NotNull(await a.Store.TryGetAsync("GET /products/8", ["p:8", "products"], CancellationToken.None));
        await b.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);
        for (var i = 0; i < 60; i++)
        {
            Assert.Null(await a.Store.TryGetAsync($"GET /products/{i}", ["products", $"p:{i}"], CancellationToken.None));
        }

        // A write from before the invalidation is refused; one from after it is kept.
        Assert.Equal(SecondLevelWriteResult.Stale, await a.Store.TrySetAsync("GET /products/1", Payload, TimeSpan.FromSeconds(30), ["products"], start, CancellationToken.None));
        var now = (await a.Invalidation.ReadSeqAsync(CancellationToken.None))!.Value;
        Assert.Equal(SecondLevelWriteResult.Stored, await a.Store.TrySetAsync("GET /products/1", Payload, TimeSpan.FromSeconds(30), ["products"], now, CancellationToken.None));
        Assert.NotNull(await b.Store.TryGetAsync("GET /products/1", ["products"], CancellationToken.None));

        // Leases too: one per request key, in that key's slot.
        var leases = new List<DistributedFlight>();
        for (var i = 0; i < 30; i++)
        {
            var flight = await a.Services.GetRequiredService<RedisSingleFlight>().LeadOrWaitAsync($"GET /lease/{i}", [], memoized: false, TimeSpan.FromSeconds(1), CancellationToken.None);
            Assert.Equal(DistributedFlightKind.Lead, flight.Kind);
            leases.Add(flight);
        }

        Assert.All(await cluster.CountKeysAsync("coalesce:{*}:l"), count => Assert.InRange(count, 1, 29));
        foreach (var flight in leases)
        {
            await flight.Lease!.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Pass, Duration: TimeSpan.Zero));
        }

        Assert.Equal(0, (await cluster.CountKeysAsync("coalesce:{*}:l")).Sum());
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_shared_entry_made_stale_by_its_stamp_is_skipped_and_the_key_is_led(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 1);
        var a = nodes[0];
        var flights = a.Services.GetRequiredService<RedisSingleFlight>();
        var start = (await a.Invalidation.ReadSeqAsync(CancellationToken.None))!.Value;
        Assert.Equal(SecondLevelWriteResult.Stored, await a.Store.TrySetAsync("GET /x", Payload, TimeSpan.FromSeconds(30), ["t"], start, CancellationToken.None));
        Assert.Equal(DistributedFlightKind.Stored, (await flights.LeadOrWaitAsync("GET /x", ["t"], memoized: true, TimeSpan.FromSeconds(1), CancellationToken.None)).Kind);

        await a.Invalidation.PublishInvalidationAsync(["t"], CancellationToken.None);

        var led = await flights.LeadOrWaitAsync("GET /x", ["t"], memoized: true, TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.Equal(DistributedFlightKind.Lead, led.Kind);
        Assert.Equal(start + 1, led.Lease!.StartSeq);
        await led.Lease.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Pass, Duration: TimeSpan.Zero));
    }
}
