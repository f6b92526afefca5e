using System.Text.RegularExpressions;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>A node that missed invalidations catches up from the log when it reconnects, or flushes when it cannot.</summary>
public sealed partial class InvalidationCatchUpTests
{
    /// <summary>Node B's options: a client name, so a test can cut its connections with CLIENT KILL.</summary>
    private static readonly Action<RedisCoalescingOptions> NamedB = o => o.ConfigurationOptions!.ClientName = "node-b";

    [RedisFact]
    public async Task A_node_that_missed_messages_evicts_their_tags_from_the_log_when_it_reconnects()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, o => o.ReadYourWrites = false, NamedB);
        var (a, b) = (nodes[0], nodes[1]);
        await b.Cache.SetAsync("product:1", "old", tags: ["products"]);
        await b.Cache.SetAsync("price:1", "old", tags: ["prices"]);
        await b.Cache.SetAsync("order:1", "kept", tags: ["orders"]);

        // B silently stops hearing messages (as when pub/sub drops them), then A invalidates twice. Redis itself
        // says B no longer listens, so nothing can reach it live (no waiting to see that nothing arrives).
        var server = a.Connection.Multiplexer!.GetServers()[0];
        var channel = a.Connection.Keys.InvalidationChannel;
        var listeners = await server.SubscriptionSubscriberCountAsync(channel);
        await b.Connection.Multiplexer!.GetSubscriber().UnsubscribeAllAsync();
        Assert.Equal(listeners - 1, await server.SubscriptionSubscriberCountAsync(channel));
        Assert.Equal(1, await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None));
        Assert.Equal(2, await a.Invalidation.PublishInvalidationAsync(["prices"], CancellationToken.None));
        Assert.True(await b.Cache.HasAsync("product:1"), "B did not hear it live");

        // B's connections drop; it reconnects, resubscribes and catches up from the log.
        await KillClientsAsync(redis, "node-b");
        await Eventually.TrueAsync(() => b.Stats.BreakerOpenings >= 1 && b.Bus.IsSynchronized, "B reconnected and caught up");

        Assert.False(await b.Cache.HasAsync("product:1"));
        Assert.False(await b.Cache.HasAsync("price:1"));
        Assert.True(await b.Cache.HasAsync("order:1"), "catch-up evicts only the missed tags");
        Assert.Equal(2, b.Invalidation.CurrentSeq);
        Assert.True(b.Logs.Has(3023), "catch-up is logged");

        // And B hears live messages again.
        await b.Cache.SetAsync("order:2", "old", tags: ["orders"]);
        await a.Invalidation.PublishInvalidationAsync(["orders"], CancellationToken.None);
        await Eventually.TrueAsync(() => !b.Cache.HasAsync("order:2").AsTask().Result, "B evicted a live invalidation");
    }

    [RedisFact]
    public async Task Catch_up_applies_missed_key_and_pattern_invalidations_and_clears()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, o => o.ReadYourWrites = false, NamedB);
        var (a, b) = (nodes[0], nodes[1]);
        await b.Cache.SetAsync("user:1", "old");
        await b.Cache.SetAsync("product:1", "old");
        await b.Cache.SetAsync("product:2", "old");
        await b.Cache.SetAsync("order:1", "kept");

        // B silently stops hearing messages; A invalidates a key and a pattern (directly on its cache, published
        // in the background).
        await b.Connection.Multiplexer!.GetSubscriber().UnsubscribeAllAsync();
        await a.Cache.InvalidateAsync("user:1");
        await a.Cache.InvalidateByPatternAsync("product:*");
        await Eventually.TrueAsync(() => a.Invalidation.CurrentSeq == 2, "A published both");
        Assert.True(await b.Cache.HasAsync("user:1"), "B did not hear it live");

        var flushes = b.Logs.Entries.Count(e => e.EventId == 3024);
        await KillClientsAsync(redis, "node-b");
        await Eventually.TrueAsync(() => b.Stats.BreakerOpenings >= 1 && b.Bus.IsSynchronized, "B reconnected and caught up");
        Assert.False(await b.Cache.HasAsync("user:1"));
        Assert.False(await b.Cache.HasAsync("product:1"));
        Assert.False(await b.Cache.HasAsync("product:2"));
        Assert.True(await b.Cache.HasAsync("order:1"), "catch-up applies keys and patterns precisely");
        Assert.Equal(flushes, b.Logs.Entries.Count(e => e.EventId == 3024));

        // A missed clear empties B when it catches up.
        await b.Connection.Multiplexer!.GetSubscriber().UnsubscribeAllAsync();
        await a.Cache.ClearAsync();
        await Eventually.TrueAsync(() => a.Invalidation.CurrentSeq == 3, "A published the clear");
        Assert.True(await b.Cache.HasAsync("order:1"), "B did not hear it live");
        var openings = b.Stats.BreakerOpenings;
        await KillClientsAsync(redis, "node-b");
        await Eventually.TrueAsync(() => b.Stats.BreakerOpenings > openings && b.Bus.IsSynchronized, "B reconnected and caught up");
        Assert.Equal(0, b.Cache.Count);
        Assert.Equal(3, b.Invalidation.CurrentSeq);
    }

    [RedisFact]
    public async Task A_node_that_missed_more_than_the_log_keeps_flushes_everything_local()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, o => (o.ReadYourWrites, o.InvalidationLogLength) = (false, 2), NamedB);
        var (a, b) = (nodes[0], nodes[1]);
        await b.Cache.SetAsync("order:1", "not invalidated, but B can't know", tags: ["orders"]);

        await b.Connection.Multiplexer!.GetSubscriber().UnsubscribeAllAsync();
        foreach (var tag in new[] { "x", "y", "z" })
        {
            await a.Invalidation.PublishInvalidationAsync([tag], CancellationToken.None);
        }

        await KillClientsAsync(redis, "node-b");
        await Eventually.TrueAsync(() => b.Stats.BreakerOpenings >= 1 && b.Bus.IsSynchronized, "B reconnected and caught up");

        Assert.Equal(0, b.Cache.Count);
        Assert.Contains(b.Logs.Entries, e => e.EventId == 3024 && e.Message.Contains("no longer covers", StringComparison.Ordinal));
    }

    [RedisFact]
    public async Task A_node_that_finds_the_seq_went_back_flushes_everything_local()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var b = await TestNode.StartAsync(redis.Configuration, NamedB);
        await b.WaitUntilSynchronizedAsync();
        await b.Invalidation.PublishInvalidationAsync(["x"], CancellationToken.None);
        await b.Invalidation.PublishInvalidationAsync(["x"], CancellationToken.None);
        await b.Cache.SetAsync("order:1", "cached at seq 2", tags: ["orders"]);

        await redis.CommandAsync("SET", "{coalesce}:seq", "1"); // a rollback that kept the epoch
        await KillClientsAsync(redis, "node-b");
        await Eventually.TrueAsync(() => b.Stats.BreakerOpenings >= 1 && b.Bus.IsSynchronized, "B reconnected and caught up");

        Assert.Equal(0, b.Cache.Count);
        Assert.Equal(1, b.Invalidation.CurrentSeq);
        Assert.Contains(b.Logs.Entries, e => e.EventId == 3024 && e.Message.Contains("went back", StringComparison.Ordinal));
    }

    [RedisFact]
    public async Task After_Redis_restarts_without_its_data_nodes_flush_everything_local()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var b = nodes[1];
        await nodes[0].Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);
        await b.Cache.SetAsync("order:1", "cached before the restart", tags: ["orders"]);
        await b.Cache.SetAsync("plain", "no tags");

        await redis.RestartAsync(); // no persistence: seq, epoch and log are gone
        await Eventually.TrueAsync(() => !b.Bus.IsSynchronized, "B noticed the restart");
        await b.WaitUntilSynchronizedAsync();

        Assert.Equal(0, b.Cache.Count);
        Assert.Equal(0, b.Invalidation.CurrentSeq);
        Assert.Contains(b.Logs.Entries, e => e.EventId == 3024 && e.Message.Contains("epoch", StringComparison.Ordinal));
    }

    [RedisFact]
    public async Task After_Redis_restarts_with_its_data_nodes_keep_what_is_still_valid_and_carry_on_from_the_same_seq()
    {
        await using var redis = await RedisServerFixture.StartAsync(appendOnly: true);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        Assert.Equal(1, await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None));
        await b.Cache.SetAsync("order:1", "still valid", tags: ["orders"]);

        // Witnessed by the breaker's count, not by catching the short moment B is unsynchronized (on a busy
        // machine B can reconnect and catch up between two polls).
        var openings = b.Stats.BreakerOpenings;
        await redis.RestartAsync();
        await Eventually.TrueAsync(() => b.Stats.BreakerOpenings > openings, "B noticed the restart");
        await a.WaitUntilSynchronizedAsync();
        await b.WaitUntilSynchronizedAsync();

        Assert.True(await b.Cache.HasAsync("order:1"), "same epoch, no gap: nothing to flush");
        Assert.Equal(2, await a.Invalidation.PublishInvalidationAsync(["orders"], CancellationToken.None));
        Assert.False(await b.Cache.HasAsync("order:1"));
    }

    [RedisFact]
    public async Task Invalidations_made_while_Redis_is_down_are_published_when_it_comes_back()
    {
        await using var redis = await RedisServerFixture.StartAsync(appendOnly: true);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        await b.Cache.SetAsync("product:1", "old", tags: ["products"]);

        redis.Kill();
        await Eventually.TrueAsync(() => !a.Bus.IsSynchronized, "A noticed Redis is down");
        Assert.Equal(0, await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None));
        Assert.Equal(1, a.Stats.InvalidationsDeferred);

        await redis.RestartAsync();
        await a.WaitUntilSynchronizedAsync();
        await b.WaitUntilSynchronizedAsync();

        await Eventually.TrueAsync(() => !b.Cache.HasAsync("product:1").AsTask().Result, "B evicted the replayed tag");
        Assert.Contains("1", await redis.CommandAsync("GET", "{coalesce}:seq"), StringComparison.Ordinal);
        Assert.True(a.Logs.Has(3021), "the replay is logged");
    }

    private static async Task KillClientsAsync(RedisServerFixture redis, string clientName)
    {
        var clients = await redis.CommandAsync("CLIENT", "LIST");
        var ids = ClientLine().Matches(clients)
            .Where(m => m.Groups["name"].Value == clientName)
            .Select(m => m.Groups["id"].Value)
            .ToList();
        Assert.NotEmpty(ids);
        foreach (var id in ids)
        {
            await redis.CommandAsync("CLIENT", "KILL", "ID", id);
        }
    }

    [GeneratedRegex(@"id=(?<id>\d+) .*?name=(?<name>\S*)")]
    private static partial Regex ClientLine();
}
