using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis.Tests;

public sealed class SecondLevelStoreTests
{
    private static readonly byte[] Payload = [1, 2, 3, 0, 255, 128];

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task An_entry_stored_on_A_is_read_on_B_with_its_remaining_time_to_live(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        var startSeq = await a.Invalidation.ReadSeqAsync(CancellationToken.None);
        Assert.Equal(0, startSeq);

        var written = await a.Store.TrySetAsync("GET /products/1 ünïcode", Payload, TimeSpan.FromSeconds(10), ["products", "p:1"], startSeq!.Value, CancellationToken.None);

        // What is left of the entry's 10 s as if one had passed, without waiting for it to pass.
        await a.Connection.Multiplexer!.GetDatabase().KeyExpireAsync(a.Connection.Keys.Flight("GET /products/1 ünïcode").Entry, TimeSpan.FromSeconds(9));
        var hit = await b.Store.TryGetAsync("GET /products/1 ünïcode", ["p:1", "products"], CancellationToken.None);

        Assert.Equal(SecondLevelWriteResult.Stored, written);
        Assert.NotNull(hit);
        Assert.Equal(Payload, hit.Value.Payload);
        Assert.InRange(hit.Value.RemainingTimeToLive, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(9.8));
        Assert.Equal(1, b.Stats.L2Hits);
        Assert.Equal(1, a.Stats.L2Writes);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_miss_another_key_or_other_tags_return_nothing(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var a = await TestNode.StartAsync(redis.Configuration);
        await a.WaitUntilSynchronizedAsync();

        Assert.Equal(SecondLevelWriteResult.Stored, await a.Store.TrySetAsync("k", Payload, TimeSpan.FromSeconds(10), ["t"], 0, CancellationToken.None));

        Assert.Null(await a.Store.TryGetAsync("other", ["t"], CancellationToken.None));
        Assert.Null(await a.Store.TryGetAsync("k", ["t", "u"], CancellationToken.None));
        Assert.Null(await a.Store.TryGetAsync("k", [], CancellationToken.None));
        Assert.NotNull(await a.Store.TryGetAsync("k", ["t"], CancellationToken.None));
        Assert.Equal(3, a.Stats.L2Misses);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task An_entry_whose_tag_was_invalidated_after_its_start_seq_is_not_returned(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        var startSeq = (await a.Invalidation.ReadSeqAsync(CancellationToken.None))!.Value;
        await a.Store.TrySetAsync("k", Payload, TimeSpan.FromSeconds(10), ["products"], startSeq, CancellationToken.None);

        await b.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);

        Assert.Null(await a.Store.TryGetAsync("k", ["products"], CancellationToken.None));
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_leader_that_started_before_an_invalidation_cannot_store_its_result(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var a = await TestNode.StartAsync(redis.Configuration);
        await a.WaitUntilSynchronizedAsync();
        var startSeq = (await a.Invalidation.ReadSeqAsync(CancellationToken.None))!.Value;

        Assert.Equal(1, await a.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None));
        var written = await a.Store.TrySetAsync("k", Payload, TimeSpan.FromSeconds(10), ["products"], startSeq, CancellationToken.None);
        var writtenAfter = await a.Store.TrySetAsync("k", Payload, TimeSpan.FromSeconds(10), ["products"], 1, CancellationToken.None);

        Assert.Equal(SecondLevelWriteResult.Stale, written);
        Assert.Equal(SecondLevelWriteResult.Stored, writtenAfter);
        Assert.NotNull(await a.Store.TryGetAsync("k", ["products"], CancellationToken.None));
        Assert.True(a.Logs.Has(3041));
    }

    [RedisFact]
    public async Task An_evicted_tag_key_makes_the_entry_invalid()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = await TestNode.StartAsync(redis.Configuration);
        await a.WaitUntilSynchronizedAsync();
        await a.Store.TrySetAsync("k", Payload, TimeSpan.FromSeconds(10), ["products", "orders"], 0, CancellationToken.None);
        Assert.NotNull(await a.Store.TryGetAsync("k", ["products", "orders"], CancellationToken.None));

        Assert.Contains(":1", await redis.CommandAsync("DEL", "{coalesce}:t:orders"), StringComparison.Ordinal);

        Assert.Null(await a.Store.TryGetAsync("k", ["products", "orders"], CancellationToken.None));
    }

    [RedisFact]
    public async Task Tag_keys_outlive_the_entries_that_carry_them()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = await TestNode.StartAsync(redis.Configuration);
        await a.WaitUntilSynchronizedAsync();

        await a.Store.TrySetAsync("short", Payload, TimeSpan.FromSeconds(5), ["products"], 0, CancellationToken.None);
        await a.Store.TrySetAsync("long", Payload, TimeSpan.FromSeconds(50), ["products"], 0, CancellationToken.None);
        await a.Store.TrySetAsync("short-again", Payload, TimeSpan.FromSeconds(5), ["products"], 0, CancellationToken.None);

        var pttl = long.Parse((await redis.CommandAsync("PTTL", "{coalesce}:t:products")).Trim(':', '\r', '\n'), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(pttl, 45_000, 50_000);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task An_entry_over_the_size_cap_is_refused_and_the_decision_logged(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var a = await TestNode.StartAsync(redis.Configuration, o => o.MaxEntryBytes = 1024);
        await a.WaitUntilSynchronizedAsync();

        var written = await a.Store.TrySetAsync("k", new byte[1025], TimeSpan.FromSeconds(10), [], 0, CancellationToken.None);
        var fits = await a.Store.TrySetAsync("k2", new byte[1024], TimeSpan.FromSeconds(10), [], 0, CancellationToken.None);

        Assert.Equal(SecondLevelWriteResult.TooLarge, written);
        Assert.Equal(SecondLevelWriteResult.Stored, fits);
        Assert.Null(await a.Store.TryGetAsync("k", [], CancellationToken.None));
        Assert.Equal(1, a.Stats.L2Oversize);
        Assert.Contains(a.Logs.Entries, e => e.EventId == 3040 && e.Message.Contains("1025", StringComparison.Ordinal));
    }

    [RedisFact]
    public async Task Entries_stored_before_Redis_lost_its_data_are_not_served_against_the_new_seq()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = await TestNode.StartAsync(redis.Configuration);
        await a.WaitUntilSynchronizedAsync();
        await a.Invalidation.PublishInvalidationAsync(["x"], CancellationToken.None);
        await a.Invalidation.PublishInvalidationAsync(["x"], CancellationToken.None);

        // A leader that read seq 2 before the seq went back to 0 must not store.
        await redis.CommandAsync("SET", "{coalesce}:seq", "0");
        var written = await a.Store.TrySetAsync("k", Payload, TimeSpan.FromSeconds(10), [], 2, CancellationToken.None);

        Assert.Equal(SecondLevelWriteResult.Stale, written);
    }
}
