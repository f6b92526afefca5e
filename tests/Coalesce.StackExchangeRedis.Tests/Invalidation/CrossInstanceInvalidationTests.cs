using System.Diagnostics;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis.Tests;

public sealed class CrossInstanceInvalidationTests
{
    [RedisFact]
    public async Task Invalidation_published_on_A_is_evicted_on_B_and_C_before_publish_returns()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3);
        try
        {
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
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [RedisFact]
    public async Task A_message_with_an_item_kind_this_version_does_not_know_flushes_everything_local()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 1);
        try
        {
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
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [RedisFact]
    public async Task A_node_ignores_its_own_invalidations()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        try
        {
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
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [RedisFact]
    public async Task Without_read_your_writes_publish_returns_without_waiting_and_others_still_evict()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2, o => o.ReadYourWrites = false);
        try
        {
            var (a, b) = (nodes[0], nodes[1]);
            await b.Cache.SetAsync("product:1", "old", tags: ["products"]);

            Assert.Equal(1, await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None));

            await Eventually.TrueAsync(() => !b.Cache.HasAsync("product:1").AsTask().Result, "B evicted");
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [RedisFact]
    public async Task A_node_whose_heartbeat_lapsed_does_not_hold_the_writer_beyond_its_liveness()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        // AckTimeout is long, so only the lapsed liveness (1 s) can end the wait for the dead node.
        var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3, o => o.AckTimeout = TimeSpan.FromSeconds(10));
        try
        {
            var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
            // C dies without leaving: its connection drops, its heartbeat entry stays until its liveness lapses.
            await c.Connection.Multiplexer!.CloseAsync(allowCommandsToComplete: false);
            await b.Cache.SetAsync("product:1", "old", tags: ["products"]);

            var clock = Stopwatch.StartNew();
            var seq = await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);
            clock.Stop();

            Assert.Equal(1, seq);
            Assert.False(await b.Cache.HasAsync("product:1"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the writer waited {clock.Elapsed}; C's liveness is 1 s");
            Assert.Equal(0, a.Stats.AckTimeouts);
        }
        finally
        {
            await DisposeAllAsync(nodes);
        }
    }

    [RedisFact]
    public async Task A_node_that_stops_leaves_at_once_so_writers_do_not_wait_for_it()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2, o => o.AckTimeout = TimeSpan.FromSeconds(10));
        try
        {
            await nodes[1].DisposeAsync();

            var clock = Stopwatch.StartNew();
            Assert.Equal(1, await nodes[0].Invalidation.PublishInvalidationAsync(["t"], CancellationToken.None));

            Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(500), $"the writer waited {clock.Elapsed} for a node that had left");
        }
        finally
        {
            await nodes[0].DisposeAsync();
        }
    }

    [RedisFact]
    public async Task An_evictor_that_throws_is_logged_and_does_not_stop_the_others_or_the_acknowledgement()
    {
        await using var redis = await RedisServerFixture.StartAsync();
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
            await DisposeAllAsync([a, b]);
        }
    }

    [RedisFact]
    public async Task A_multiplexer_from_DI_is_shared_and_left_open_when_the_app_stops()
    {
        await using var redis = await RedisServerFixture.StartAsync();
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

    internal static async Task DisposeAllAsync(IEnumerable<TestNode> nodes)
    {
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }
    }

    private sealed class ThrowingEvictor : ILocalEvictor
    {
        public ValueTask EvictAsync(IReadOnlyCollection<InvalidationItem> items, long seq, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("evictor failed");

        public ValueTask EvictAllAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
