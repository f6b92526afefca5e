using System.Net;
using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// <c>MemoCache</c> invalidations by key, by pattern and clears on one instance evict on every instance: their local
/// entries, and the shared entry (an instance then runs the endpoint rather than replay the old response from Redis).
/// </summary>
public sealed class InvalidationKindsAcrossInstancesTests
{
    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task A_key_invalidation_evicts_that_key_on_every_instance_and_in_the_shared_level(RedisTopology topology) => RunAsync(topology, async (catalog, nodes) =>
    {
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var key = KeyOf(a, "/products/1");
        catalog.Bump(1);

        Assert.True(await a.Cache.InvalidateAsync(key));

        // Published in the background: B and C evict soon after the call, only that key.
        await Eventually.TrueAsync(() => !Holds(b, "/products/1") && !Holds(c, "/products/1"), "B and C evicted the key");
        Assert.True(Holds(b, "/products/2") && Holds(c, "/products/2"), "other keys stay");

        // The shared entry went too: B runs the endpoint rather than replay v1 from Redis; C then reads B's v2.
        Assert.Equal("product 1 v2", await BodyAsync(b, "/products/1"));
        Assert.Equal(1, b.ProductRuns);
        Assert.Equal("product 1 v2", await BodyAsync(c, "/products/1"));
        Assert.Equal("product 2 v1", await BodyAsync(c, "/products/2"));
        Assert.Equal(0, c.ProductRuns);
        Assert.Equal(1, a.Stats.InvalidationsPublished);
        Assert.All([b, c], n => Assert.Equal(1, n.Stats.InvalidationsReceived));
    });

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task A_pattern_invalidation_evicts_matching_keys_on_every_instance_and_every_shared_entry_before_it(RedisTopology topology) => RunAsync(topology, async (catalog, nodes) =>
    {
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        catalog.Bump(1);

        Assert.Equal(1, await a.Cache.InvalidateByPatternAsync("*/products/1*"));

        // Locally the pattern applies precisely on each instance ...
        await Eventually.TrueAsync(() => !Holds(b, "/products/1") && !Holds(c, "/products/1"), "B and C evicted the matching keys");
        Assert.True(Holds(b, "/products/2") && Holds(c, "/products/2"), "keys the pattern does not match stay local");
        Assert.Equal("product 2 v1", await BodyAsync(b, "/products/2"));
        Assert.Equal(0, b.ProductRuns);

        // ... and in Redis it drops every entry stored before it (the matching one included): B runs the endpoint.
        Assert.Equal("product 1 v2", await BodyAsync(b, "/products/1"));
        Assert.Equal(1, b.ProductRuns);
        Assert.Equal("product 1 v2", await BodyAsync(c, "/products/1"));
        Assert.Equal(0, c.ProductRuns);
    });

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task A_clear_empties_every_instance_and_the_shared_level(RedisTopology topology) => RunAsync(topology, async (catalog, nodes) =>
    {
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        catalog.Bump(1);
        catalog.Bump(2);

        await a.Cache.ClearAsync();

        await Eventually.TrueAsync(() => b.Cache.Count == 0 && c.Cache.Count == 0, "B and C cleared");
        Assert.Equal("product 1 v2", await BodyAsync(b, "/products/1"));
        Assert.Equal("product 2 v2", await BodyAsync(c, "/products/2"));
        Assert.Equal(1, b.ProductRuns);
        Assert.Equal(1, c.ProductRuns);
    });

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public Task A_malformed_pattern_fails_on_the_caller_and_nothing_is_published(RedisTopology topology) => RunAsync(topology, async (_, nodes) =>
    {
        var (a, b) = (nodes[0], nodes[1]);

        await Assert.ThrowsAsync<ArgumentException>(() => a.Cache.InvalidateByPatternAsync("[z-a]").AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => a.Bus.PublishAsync([new InvalidationItem(InvalidationKind.Pattern, "products\\")], CancellationToken.None));

        // A publication would have started inside the call (the cache's hook), so it would be on its way or counted.
        Assert.False(a.IsPublishing, "nothing is on its way");
        Assert.Equal(0, a.Stats.InvalidationsPublished);
        Assert.Equal(0, a.Stats.InvalidationsDeferred);
        Assert.Equal(0, b.Stats.InvalidationsReceived);
        Assert.Equal(0, a.Bus.CurrentSeq);
        Assert.True(Holds(b, "/products/1"));
    });

    [RedisFact]
    public async Task A_flight_in_progress_on_another_instance_when_a_key_is_invalidated_stores_its_result_nowhere()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var backend = new FlightBackend { GatedInstance = "n1" };
        var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 3, endpoints: backend.Endpoints);
        try
        {
            var (a, b, c) = (nodes[0], nodes[1], nodes[2]);

            // The key's form, learnt from another id of the same length on A (past the gate).
            using (await a.GetAsync("/memo/8"))
            {
            }

            var key = KeyOf(a, "/memo/8").Replace("/memo/8", "/memo/9", StringComparison.Ordinal);

            // B's handler reads v1 and hangs; A invalidates the key meanwhile.
            var flight = b.GetAsync("/memo/9");
            await Eventually.TrueAsync(() => backend.Executions == 2, "B's handler started");
            Assert.False(await a.Cache.InvalidateAsync(key));
            await Eventually.TrueAsync(() => b.Stats.InvalidationsReceived == 1, "B applied the invalidation");
            backend.Open();
            using var answer = await flight;

            // B's client gets what was computed, but it is kept neither on B nor in Redis: C runs the endpoint.
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.StartsWith("9 v1 by n1", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.False(Holds(b, "/memo/9"), "B did not keep a result computed before the invalidation");
            Assert.Equal(0, b.Stats.L2Writes);
            Assert.StartsWith("9 v1 by n2", await BodyAsync(c, "/memo/9"), StringComparison.Ordinal);
            Assert.Equal(3, backend.Executions);
        }
        finally
        {
            backend.Open();
            await nodes.DisposeAllAsync();
        }
    }

    /// <summary>Three synchronized instances; A renders products 1 and 2, and B and C hold them from the second level.</summary>
    private static async Task RunAsync(RedisTopology topology, Func<Catalog, IReadOnlyList<WebNode>, Task> test)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var catalog = new Catalog();
        // The execution counts below assume Redis answers within the read budget: on a loaded machine a cluster's two
        // round trips (the key's slot, then the shared one) can pass the 50 ms default, and a lease completion that runs
        // out of budget costs another instance an execution (never a stale answer). These tests are about invalidation.
        await using var nodes = await WebNode.StartSynchronizedAsync(
            redis.Configuration, catalog, 3, configure: o => o.ReadBudget = TimeSpan.FromSeconds(1));
        foreach (var node in nodes)
        {
            Assert.Equal("product 1 v1", await BodyAsync(node, "/products/1"));
            Assert.Equal("product 2 v1", await BodyAsync(node, "/products/2"));
        }

        Assert.Equal(2, nodes[0].ProductRuns);
        Assert.All(nodes.Skip(1), n => Assert.Equal(0, n.ProductRuns));
        await test(catalog, nodes);
    }

    private static async Task<string> BodyAsync(WebNode node, string path)
    {
        using var response = await node.GetAsync(path);
        return await response.Content.ReadAsStringAsync();
    }

    private static bool Holds(WebNode node, string path) => node.Cache.Entries().Any(e => Contains(e.Key, path));

    private static bool Contains(string key, string path) => key.Contains(path, StringComparison.Ordinal);

    private static string KeyOf(WebNode node, string path) => Assert.Single(node.Cache.Entries(), e => Contains(e.Key, path)).Key;
}
