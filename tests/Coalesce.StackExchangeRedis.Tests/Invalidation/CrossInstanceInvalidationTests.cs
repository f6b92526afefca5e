using System.Diagnostics;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Invalidations across instances: published on one node, evicted on the others before publish returns (read your
/// writes), own messages ignored, and writers never held by nodes that are gone.
/// </summary>
public sealed class CrossInstanceInvalidationTests
{
    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task Invalidation_published_on_A_is_evicted_on_B_and_C_before_publish_returns(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        foreach (var node in new[] { b, c })
        {
            await node.Cache.SetAsync("product:1", "old", tags: ["products"]);
            await node.Cache.SetAsync("order:1", "kept", tags: ["orders"]);
        }

        var seq = await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);

        Assert.Equal(1, seq);
        foreach (var node in new[] { b, c })
        {
            Assert.False(await node.Cache.HasAsync("product:1"), "B and C evict before the writer's publish returns");
            Assert.True(await node.Cache.HasAsync("order:1"));
            Assert.Equal(1, node.Stats.InvalidationsReceived);
            Assert.Equal(1, node.Invalidation.CurrentSeq);
        }

        Assert.Equal(1, a.Stats.InvalidationsPublished);
        Assert.Equal(0, a.Stats.AckTimeouts);
    }

    [RedisFact]
    public async Task A_message_with_an_item_kind_this_version_does_not_know_flushes_everything_local()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 1);
        var b = nodes[0];
        await b.Cache.SetAsync("product:1", "old", tags: ["products"]);
        await b.Cache.SetAsync("order:1", "old");
        var epoch = (await redis.CommandAsync("GET", "{coalesce}:epoch")).Split("\r\n")[1];

        // A newer writer's item ("z…"), in this epoch: what it covers is unknown, so everything local goes.
        await redis.CommandAsync("PUBLISH", "{coalesce}:inv:v2", $"newer-node pid {epoch} 7 2:zq");

        await Eventually.TrueAsync(() => b.Cache.Count == 0, "B flushed");
        Assert.Contains(b.Logs.Entries, e => e.EventId == 3024 && e.Message.Contains("does not know", StringComparison.Ordinal));
        Assert.Equal(7, b.Invalidation.CurrentSeq);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_node_ignores_its_own_invalidations(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        await a.Cache.SetAsync("product:1", "mine", tags: ["products"]);

        await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);
        await Eventually.TrueAsync(() => b.Stats.InvalidationsReceived == 1, "B received the invalidation");

        // A's subscription delivers in order, and B's publish returns once A applied it (read-your-writes): by
        // then A has seen its own earlier message too, with no sleep to wait for it.
        await b.Invalidation.PublishInvalidationAsync(["orders"], CancellationToken.None);

        Assert.True(await a.Cache.HasAsync("product:1"), "the writer evicts locally itself; its own message is ignored");
        Assert.Equal(1, a.Stats.InvalidationsReceived);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task Without_read_your_writes_publish_returns_without_waiting_and_others_still_evict(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2, o => o.ReadYourWrites = false);
        var (a, b) = (nodes[0], nodes[1]);
        await b.Cache.SetAsync("product:1", "old", tags: ["products"]);

        Assert.Equal(1, await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None));

        await Eventually.TrueAsync(() => !b.Cache.HasAsync("product:1").AsTask().Result, "B evicted");
    }

    /// <summary>How node C goes away before A publishes.</summary>
    public enum Departure
    {
        /// <summary>C dies without leaving: its connection drops, its heartbeat entry stays until its liveness (1 s) lapses.</summary>
        HeartbeatLapsed,

        /// <summary>C stops: it leaves at once.</summary>
        Stopped,
    }

    // AckTimeout is long (10 s), so only C's departure can end the writer's wait for it.
    [RedisTheory]
    [InlineData(Departure.HeartbeatLapsed, 3_000)]
    [InlineData(Departure.Stopped, 500)]
    public async Task A_node_that_stops_leaves_at_once_and_one_whose_heartbeat_lapsed_holds_the_writer_no_longer_than_its_liveness(
        Departure departure, int writerWaitsBelowMilliseconds)
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3, o => o.AckTimeout = TimeSpan.FromSeconds(10));
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        if (departure == Departure.HeartbeatLapsed)
        {
            await c.Connection.Multiplexer!.CloseAsync(allowCommandsToComplete: false);
        }
        else
        {
            await c.DisposeAsync();
        }

        await b.Cache.SetAsync("product:1", "old", tags: ["products"]);

        var clock = Stopwatch.StartNew();
        var seq = await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);
        clock.Stop();

        Assert.Equal(1, seq);
        Assert.False(await b.Cache.HasAsync("product:1"));
        Assert.True(
            clock.Elapsed < TimeSpan.FromMilliseconds(writerWaitsBelowMilliseconds),
            $"the writer waited {clock.Elapsed} for a node that {(departure == Departure.Stopped ? "had left" : "died; C's liveness is 1 s")}");
        Assert.Equal(0, a.Stats.AckTimeouts);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task An_evictor_that_throws_is_logged_and_does_not_stop_the_others_or_the_acknowledgement(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var a = await TestNode.StartAsync(redis.Configuration);
        var b = await TestNode.StartAsync(redis.Configuration, services: s => s.AddSingleton<ILocalEvictor, ThrowingEvictor>());
        try
        {
            await a.WaitUntilSynchronizedAsync();
            await b.WaitUntilSynchronizedAsync();
            await b.Cache.SetAsync("product:1", "old", tags: ["products"]);

            var clock = Stopwatch.StartNew();
            await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);

            Assert.False(await b.Cache.HasAsync("product:1"));
            Assert.Equal(0, a.Stats.AckTimeouts);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the writer waited {clock.Elapsed}");
            Assert.Contains(b.Logs.Entries, e => e.EventId == 3025 && e.Message.Contains(nameof(ThrowingEvictor), StringComparison.Ordinal));
        }
        finally
        {
            await new[] { a, b }.DisposeAllAsync();
        }
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_multiplexer_from_DI_is_shared_and_left_open_when_the_app_stops(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var shared = await ConnectionMultiplexer.ConnectAsync(TestNode.FastConfiguration(redis.Configuration));
        var a = await TestNode.StartAsync(
            redis.Configuration,
            o => (o.ConfigurationOptions, o.ConnectionMultiplexerFactory) = (null, sp => sp.GetRequiredService<IConnectionMultiplexer>()),
            s => s.AddSingleton<IConnectionMultiplexer>(shared));
        await a.WaitUntilSynchronizedAsync();
        Assert.Same(shared, a.Connection.Multiplexer);

        await a.DisposeAsync();

        Assert.True(shared.IsConnected);
        Assert.Equal("PONG", (await shared.GetDatabase().ExecuteAsync("PING")).ToString());
    }

    private sealed class ThrowingEvictor : ILocalEvictor
    {
        public ValueTask EvictAsync(IReadOnlyCollection<InvalidationItem> items, long seq, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("evictor failed");

        public ValueTask EvictAllAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
