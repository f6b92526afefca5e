using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>Several app instances (separate WebApplications, containers and multiplexers) on one Redis.</summary>
public sealed class AcrossInstancesTests
{
    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_memoized_response_rendered_on_one_instance_serves_another_with_its_status_headers_body_and_remaining_ttl(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var catalog = new Catalog();
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, catalog, 2);
        await using var a = nodes[0];
        await using var b = nodes[1];

        using var rendered = await a.GetAsync("/products/1");

        // What is left of the shared entry's minute as if two seconds had passed, without waiting for them to pass.
        // (A stores it once its response has gone, so wait for the entry to be there.)
        var connection = a.Services.GetRequiredService<RedisConnection>();
        var entries = new List<StackExchange.Redis.RedisKey>();
        await Eventually.TrueAsync(
            async () => (entries = await connection.Multiplexer!.GetServers().ToAsyncEnumerable()
                .SelectMany(server => server.KeysAsync(pattern: connection.Options.KeyPrefix + ":{*}:e")).ToListAsync()).Count > 0,
            "A stored its render in Redis");
        await connection.Multiplexer!.GetDatabase().KeyExpireAsync(Assert.Single(entries), TimeSpan.FromSeconds(58));
        var askedAt = DateTimeOffset.UtcNow;
        using var served = await b.GetAsync("/products/1");

        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal("product 1 v1", await served.Content.ReadAsStringAsync());
        Assert.Equal(await rendered.Content.ReadAsByteArrayAsync(), await served.Content.ReadAsByteArrayAsync());
        Assert.Equal(rendered.Headers.ETag, served.Headers.ETag);
        Assert.Equal("1", Assert.Single(served.Headers.GetValues("X-Version")));
        Assert.Equal(rendered.Content.Headers.ContentType, served.Content.Headers.ContentType);
        Assert.Contains("hit", Assert.Single(served.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);
        Assert.Equal(1, a.ProductRuns);
        Assert.Equal(0, b.ProductRuns);

        // B keeps it locally for what is left of the shared entry's minute (58 s when B asked),
        // not a fresh minute.
        var local = Assert.Single(b.Cache.Entries());
        Assert.Equal(["product:1"], local.Tags);
        Assert.True(local.ExpiresAt < askedAt + TimeSpan.FromSeconds(59.5), $"expires {local.ExpiresAt:O}, asked {askedAt:O}");
        Assert.True(local.ExpiresAt > askedAt + TimeSpan.FromSeconds(55), $"expires {local.ExpiresAt:O}, asked {askedAt:O}");

        // Validators apply to an answer from the second level as to a local hit.
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/products/1");
        conditional.Headers.IfNoneMatch.Add(rendered.Headers.ETag!);
        Assert.Equal(HttpStatusCode.NotModified, (await b.Client.SendAsync(conditional)).StatusCode);
        Assert.Equal(0, b.ProductRuns);
        Assert.Equal(1, b.Stats.L2Hits);
        Assert.True(a.Stats.L2Writes >= 1);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task Identity_stays_partitioned_across_instances(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2);
        await using var a = nodes[0];
        await using var b = nodes[1];

        Assert.Equal("me=Bearer alice", await (await a.GetAsync("/me", "Bearer alice")).Content.ReadAsStringAsync());
        Assert.Equal("me=Bearer bob", await (await b.GetAsync("/me", "Bearer bob")).Content.ReadAsStringAsync());
        Assert.Equal("me=", await (await b.GetAsync("/me")).Content.ReadAsStringAsync());
        Assert.Equal(2, b.MeRuns);

        // Alice's response, rendered on A, reaches Alice on B, and only her.
        Assert.Equal("me=Bearer alice", await (await b.GetAsync("/me", "Bearer alice")).Content.ReadAsStringAsync());
        Assert.Equal(2, b.MeRuns);
        Assert.Equal("me=Bearer bob", await (await a.GetAsync("/me", "Bearer bob")).Content.ReadAsStringAsync());
        Assert.Equal(1, a.MeRuns);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_write_on_one_instance_is_seen_by_an_immediate_read_on_every_other_50_times_in_a_row(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var catalog = new Catalog();
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, catalog, 3);
        await using var n0 = nodes[0];
        await using var n1 = nodes[1];
        await using var n2 = nodes[2];

        var stale = 0;
        var writeLatency = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            // Every instance holds the current version locally (or in flight) before the write.
            foreach (var node in nodes)
            {
                (await node.GetAsync("/products/5")).Dispose();
            }

            var writer = nodes[i % 3];
            var clock = Stopwatch.StartNew();
            using var put = await writer.Client.PutAsync("/products/5", null);
            writeLatency.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var expected = $"product 5 {await put.Content.ReadAsStringAsync()}";
            for (var r = 1; r <= 3; r++)
            {
                var body = await (await nodes[(i + r) % 3].GetAsync("/products/5")).Content.ReadAsStringAsync();
                stale += body == expected ? 0 : 1;
            }
        }

        Assert.Equal(0, stale);
        Assert.Equal(51, catalog.Version(5));
        Assert.All(nodes, n => Assert.True(n.Stats.InvalidationsPublished >= 16, $"published {n.Stats.InvalidationsPublished}"));
        Assert.All(nodes, n => Assert.True(n.Stats.InvalidationsReceived >= 33, $"received {n.Stats.InvalidationsReceived}"));
        Assert.All(nodes, n => Assert.Equal(0, n.Stats.AckTimeouts));
        writeLatency.Sort();
        Console.WriteLine($"PUT with read-your-writes across 3 instances: p50 {writeLatency[25]:F1} ms, max {writeLatency[^1]:F1} ms");
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_direct_MemoCache_tag_invalidation_reaches_other_instances_and_nothing_is_published_twice(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var catalog = new Catalog();
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, catalog, 2);
        await using var a = nodes[0];
        await using var b = nodes[1];
        (await a.GetAsync("/products/4")).Dispose();
        (await b.GetAsync("/products/4")).Dispose();
        Assert.Single(b.Cache.Entries());

        // Published asynchronously: B evicts soon after, not before the call returns.
        catalog.Bump(4);
        Assert.Equal(1, await a.Cache.InvalidateByTagAsync("product:4"));
        await Eventually.TrueAsync(() => b.Cache.Entries().Count == 0, "B evicted the tag");
        Assert.Equal("product 4 v2", await (await b.GetAsync("/products/4")).Content.ReadAsStringAsync());

        // InvalidatesTags publishes once (itself, awaited), and B applying it publishes nothing.
        (await b.Client.PutAsync("/products/4", null)).Dispose();

        // A fence instead of a wait: each instance publishes one more invalidation (of a tag nobody holds) and waits
        // until the other received it. Pub/sub keeps one publisher's order, so an echo either made on applying the
        // other's invalidations would have arrived before the fence; the fences are the only publications added.
        Assert.Equal(0, await a.Cache.InvalidateByTagAsync("fence"));
        await Eventually.TrueAsync(() => b.Stats.InvalidationsReceived >= 2, "B received A's fence");
        Assert.Equal(0, await b.Cache.InvalidateByTagAsync("fence"));
        await Eventually.TrueAsync(() => a.Stats.InvalidationsReceived >= 2, "A received B's fence");
        Assert.Equal(1 + 1, a.Stats.InvalidationsPublished);
        Assert.Equal(1 + 1, b.Stats.InvalidationsPublished);
        Assert.Equal(1 + 1, a.Stats.InvalidationsReceived);
        Assert.Equal(1 + 1, b.Stats.InvalidationsReceived);
    }

    [RedisFact]
    public async Task While_an_instance_is_not_synchronized_it_does_not_serve_tagged_local_hits()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = (await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 1, o => o.ReadBudget = TimeSpan.FromMilliseconds(50)))[0];

        (await a.GetAsync("/products/7")).Dispose();
        using var hit = await a.GetAsync("/products/7");
        Assert.Contains("hit", Assert.Single(hit.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);
        Assert.Equal(1, a.ProductRuns);

        redis.Kill();
        await Eventually.TrueAsync(() => !a.Bus.IsSynchronized, "the instance lost synchronization");
        using var notServed = await a.GetAsync("/products/7");
        Assert.Equal(HttpStatusCode.OK, notServed.StatusCode);
        Assert.Equal(2, a.ProductRuns);
        Assert.DoesNotContain("hit", Assert.Single(notServed.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);

        await redis.RestartAsync();
        await Eventually.TrueAsync(() => a.Bus.IsSynchronized, "the instance synchronized again");
        (await a.GetAsync("/products/7")).Dispose();
        var runs = a.ProductRuns;
        (await a.GetAsync("/products/7")).Dispose();
        Assert.Equal(runs, a.ProductRuns);
    }

    [RedisFact]
    public async Task When_Redis_is_killed_every_instance_keeps_serving_within_budget_and_recovers()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var catalog = new Catalog();
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, catalog, 2, o => o.ReadBudget = TimeSpan.FromMilliseconds(50));
        await using var a = nodes[0];
        await using var b = nodes[1];
        foreach (var node in nodes)
        {
            (await node.GetAsync("/products/1")).Dispose();
        }

        redis.Kill();
        var worst = TimeSpan.Zero;
        var failed = 0;
        var requests = 0;
        var outage = Stopwatch.StartNew();
        while (outage.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            foreach (var node in nodes)
            {
                var clock = Stopwatch.StartNew();
                using var read = await node.GetAsync($"/products/{1 + (requests % 3)}");
                using var write = requests % 10 == 0 ? await node.Client.PutAsync("/products/9", null) : null;
                worst = clock.Elapsed > worst ? clock.Elapsed : worst;
                // With read-your-writes a write can't be confirmed while Redis is down: 503, never a 2xx nobody vouches for.
                failed += read.IsSuccessStatusCode && write is null or { IsSuccessStatusCode: true } or { StatusCode: HttpStatusCode.ServiceUnavailable } ? 0 : 1;
                requests++;
            }
        }

        Assert.Equal(0, failed);
        Assert.True(worst < TimeSpan.FromMilliseconds(750), $"worst request (a read and maybe a write) during the outage: {worst}");
        Console.WriteLine($"Redis killed: {requests} request pairs, 0 failed, worst {worst.TotalMilliseconds:F0} ms");

        // A write during the outage is on this instance at once; after the restart every instance is fresh again.
        using var put = await a.Client.PutAsync("/products/1", null);
        Assert.Equal($"product 1 {await put.Content.ReadAsStringAsync()}", await (await a.GetAsync("/products/1")).Content.ReadAsStringAsync());

        await redis.RestartAsync();
        foreach (var node in nodes)
        {
            await Eventually.TrueAsync(() => node.Bus.IsSynchronized && node.Stats.Connected, "the instance synchronized again");
        }

        Assert.Equal($"product 1 v{catalog.Version(1)}", await (await b.GetAsync("/products/1")).Content.ReadAsStringAsync());
        using var after = await b.Client.PutAsync("/products/1", null);
        Assert.Equal($"product 1 {await after.Content.ReadAsStringAsync()}", await (await a.GetAsync("/products/1")).Content.ReadAsStringAsync());

        // The second level is back: a render on A serves B.
        (await a.GetAsync("/products/42")).Dispose();
        var runs = b.ProductRuns;
        Assert.Equal("product 42 v1", await (await b.GetAsync("/products/42")).Content.ReadAsStringAsync());
        Assert.Equal(runs, b.ProductRuns);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task The_stats_document_has_a_redis_object(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2);
        await using var a = nodes[0];
        await using var b = nodes[1];
        (await a.GetAsync("/products/3")).Dispose();
        (await b.GetAsync("/products/3")).Dispose();
        (await b.Client.PutAsync("/products/3", null)).Dispose();

        using var document = JsonDocument.Parse(await b.Client.GetStringAsync("/_coalesce/stats"));
        var root = document.RootElement;

        // The fields every app shows keep their names and order (without the Redis package there is no "redis": StatsTests).
        Assert.Equal(["requests", "cache", "endpoints", "httpClients", "uptimeSeconds", "countingSeconds", "redis"], root.EnumerateObject().Select(p => p.Name));
        var stats = root.GetProperty("redis");
        Assert.Equal(
            [
                "connected", "breakerOpen", "synchronized", "l2Hits", "l2Misses", "l2Writes", "l2Oversize", "remoteWaits",
                "leasesWon", "takeovers", "fillsPublished", "fillsReceived", "passes", "invalidationsPublished", "invalidationsReceived", "invalidationsDeferred", "ackTimeouts", "errors", "breakerOpenings",
                "currentSeq", "unsynchronizedSince", "disconnectedSince",
            ],
            stats.EnumerateObject().Select(p => p.Name));
        Assert.True(stats.GetProperty("connected").GetBoolean());
        Assert.True(stats.GetProperty("synchronized").GetBoolean());
        Assert.False(stats.GetProperty("breakerOpen").GetBoolean());
        Assert.Equal(1, stats.GetProperty("l2Hits").GetInt64());
        Assert.Equal(0, stats.GetProperty("remoteWaits").GetInt64());
        Assert.Equal(0, stats.GetProperty("leasesWon").GetInt64()); // B's read was a second-level hit of A's render,
        Assert.Equal(1, a.Stats.LeasesWon);                           // which A ran under a lease,
        Assert.Equal(0, a.Stats.FillsPublished);                      // with nobody waiting for it
        Assert.Equal(1, stats.GetProperty("invalidationsPublished").GetInt64());
        Assert.True(stats.GetProperty("currentSeq").GetInt64() >= 1);
        Assert.Equal(JsonValueKind.Null, stats.GetProperty("unsynchronizedSince").ValueKind);
        Assert.Equal(JsonValueKind.Null, stats.GetProperty("disconnectedSince").ValueKind);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_malformed_second_level_payload_is_a_logged_miss(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2);
        await using var a = nodes[0];
        await using var b = nodes[1];

        (await a.GetAsync("/products/2")).Dispose();
        var entry = Assert.Single(a.Cache.Entries());
        var store = a.Services.GetRequiredService<ISecondLevelStore>();
        var seq = await a.Services.GetRequiredService<IDistributedInvalidation>().ReadSeqAsync(CancellationToken.None);
        Assert.Equal(
            SecondLevelWriteResult.Stored,
            await store.TrySetAsync(entry.Key, new byte[] { CapturedResponseFormatter.Version, 0xFF, 0xFF }, TimeSpan.FromMinutes(1), entry.Tags.ToArray(), seq!.Value, CancellationToken.None));

        using var response = await b.GetAsync("/products/2");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("product 2 v1", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, b.ProductRuns);
        Assert.True(b.Logs.Has(2011), "the malformed entry is logged");
    }
}
