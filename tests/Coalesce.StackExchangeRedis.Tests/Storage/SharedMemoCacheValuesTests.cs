using System.Diagnostics;
using System.Text;
using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>The app's <see cref="MemoCache"/> values on the Redis second level, across instances.</summary>
public sealed class SharedMemoCacheValuesTests
{
    private static readonly CacheEntryOptions Products = new() { Ttl = TimeSpan.FromSeconds(10), Tags = ["products"] };

    /// <summary>The tags a shared value with the tag <c>products</c> has in Redis (its key and every-entry stamps come with the store).</summary>
    private static string[] SharedTags(string key) => key.Length > 0 ? ["products"] : [];

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_value_fetched_on_A_is_served_on_B_for_its_remaining_time_without_running_the_fetcher(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        var fetched = await a.Cache.GetOrFetchAsync("product:1", _ => Task.FromResult(new Product(1, "Lamp", 9.5m)), SharedValuesJsonContext.Default.Product, Products);

        // What is left of the shared entry's 10 s as if two had passed, without waiting for them to pass.
        await a.Connection.Multiplexer!.GetDatabase().KeyExpireAsync(
            a.Connection.Keys.Flight(ScaleOutMemoCacheLevel.KeyPrefix + "product:1").Entry, TimeSpan.FromSeconds(8));

        var served = await b.Cache.GetOrFetchAsync<Product>(
            "product:1", _ => throw new InvalidOperationException("must not run"), SharedValuesJsonContext.Default.Product, Products);

        Assert.Equal(fetched, served);
        var local = Assert.Single(b.Cache.Entries());
        Assert.InRange(local.ExpiresAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(9.1));
        Assert.Equal(1, a.Cache.GetStats().SecondLevelWrites);
        Assert.Equal(1, b.Cache.GetStats().SecondLevelHits);
        Assert.Equal(1, b.Stats.L2Hits);
        Assert.NotNull(await b.Store.TryGetAsync(ScaleOutMemoCacheLevel.KeyPrefix + "product:1", SharedTags("product:1"), CancellationToken.None));
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_memoized_function_runs_once_for_three_instances(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3);
        var runs = 0;
        var functions = nodes.Select(n => n.Cache.Memoize<int, Product>(
            (id, _) =>
            {
                Interlocked.Increment(ref runs);
                return Task.FromResult(new Product(id, "Lamp", 9.5m));
            },
            new MemoizeOptions<int> { Name = "product", Ttl = TimeSpan.FromMinutes(1), ResultTypeInfo = SharedValuesJsonContext.Default.Product }))
            .ToArray();

        var results = new List<Product>();
        foreach (var function in functions)
        {
            results.Add(await function.InvokeAsync(42));
            results.Add(await function.InvokeAsync(42));
        }

        Assert.Equal(1, runs);
        Assert.All(results, r => Assert.Equal(new Product(42, "Lamp", 9.5m), r));
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_tag_invalidated_on_A_makes_B_fetch_again_and_the_shared_entry_unreadable(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        var price = 9.5m;
        Task<Product> Load(CancellationToken _) => Task.FromResult(new Product(1, "Lamp", price));
        await a.Cache.GetOrFetchAsync("product:1", Load, SharedValuesJsonContext.Default.Product, Products);
        await b.Cache.GetOrFetchAsync("product:1", Load, SharedValuesJsonContext.Default.Product, Products);
        Assert.Equal(1, b.Cache.GetStats().SecondLevelHits);

        price = 12m;
        await a.Cache.InvalidateByTagAsync("products");

        // A itself never takes back from Redis what it has just evicted, even before the publication lands.
        Assert.Equal(12m, (await a.Cache.GetOrFetchAsync("product:1", Load, SharedValuesJsonContext.Default.Product, Products)).Price);
        await Eventually.TrueAsync(() => !b.Cache.TryGet<Product>("product:1", out _), "B evicted the tag");
        Assert.Equal(12m, (await b.Cache.GetOrFetchAsync("product:1", Load, SharedValuesJsonContext.Default.Product, Products)).Price);

        await a.Cache.InvalidateByTagAsync("products");
        await Eventually.TrueAsync(() => a.Stats.InvalidationsPublished == 2, "the second invalidation was published");
        Assert.Null(await b.Store.TryGetAsync(ScaleOutMemoCacheLevel.KeyPrefix + "product:1", SharedTags("product:1"), CancellationToken.None));
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_fetch_that_started_before_an_invalidation_on_another_instance_is_not_stored_in_Redis(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slow = a.Cache.GetOrFetchAsync(
            "product:1",
            async _ =>
            {
                started.SetResult();
                await release.Task;
                return new Product(1, "read before the write", 1m);
            },
            SharedValuesJsonContext.Default.Product,
            Products).AsTask();
        await started.Task;

        await b.Invalidation.PublishInvalidationAsync(["products"], CancellationToken.None);
        release.SetResult();
        await slow;

        Assert.Null(await c.Store.TryGetAsync(ScaleOutMemoCacheLevel.KeyPrefix + "product:1", SharedTags("product:1"), CancellationToken.None));
        var fresh = await c.Cache.GetOrFetchAsync("product:1", _ => Task.FromResult(new Product(1, "fresh", 2m)), SharedValuesJsonContext.Default.Product, Products);
        Assert.Equal("fresh", fresh.Name);
        Assert.Equal(0, a.Cache.GetStats().SecondLevelWrites);
        Assert.Equal(1, a.Cache.GetStats().SecondLevelSkips);
    }

    [RedisFact]
    public async Task With_Redis_down_values_are_fetched_and_kept_locally_within_the_budget()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = await TestNode.StartAsync(redis.Configuration, o => o.ReadBudget = TimeSpan.FromMilliseconds(50));
        await a.WaitUntilSynchronizedAsync();
        redis.Kill();

        var worst = TimeSpan.Zero;
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var value = await a.Cache.GetOrFetchAsync($"product:{i}", _ => Task.FromResult(new Product(i, "Lamp", 1m)), SharedValuesJsonContext.Default.Product, Products);
            worst = clock.Elapsed > worst ? clock.Elapsed : worst;
            Assert.Equal(i, value.Id);
        }

        // A miss pays at most the read, the seq and the write budgets; once the breaker is open, nothing. (The slack is
        // for a loaded two-core machine; what it rules out is waiting on the dead server, which takes seconds.)
        Assert.True(worst < TimeSpan.FromMilliseconds(3 * 50 + 1000), $"a miss took {worst}");
        Assert.True(a.Cache.TryGet<Product>("product:9", out _));
        Assert.Equal(10, a.Cache.GetStats().SecondLevelMisses);
        Assert.Equal(10, a.Cache.GetStats().SecondLevelSkips);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_payload_that_does_not_read_is_a_miss_and_a_value_too_large_stays_local(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2, o => o.MaxEntryBytes = 200);
        var (a, b) = (nodes[0], nodes[1]);
        var seq = (await a.Invalidation.ReadSeqAsync(CancellationToken.None))!.Value;
        await a.Store.TrySetAsync(
            ScaleOutMemoCacheLevel.KeyPrefix + "product:1", Encoding.UTF8.GetBytes("{\"Id\":\"not a number\""), TimeSpan.FromSeconds(10), SharedTags("product:1"), seq, CancellationToken.None);

        var read = await b.Cache.GetOrFetchAsync("product:1", _ => Task.FromResult(new Product(1, "Lamp", 1m)), SharedValuesJsonContext.Default.Product, Products);
        Assert.Equal("Lamp", read.Name);
        Assert.True(b.Logs.Has(1102), "the unreadable payload is logged");

        var large = new string('x', 1000);
        Assert.Equal(large, await a.Cache.GetOrFetchAsync("large", _ => Task.FromResult(large), SharedValuesJsonContext.Default.String, Products));
        Assert.True(a.Cache.TryGet<string>("large", out _));
        Assert.True(a.Logs.Has(1101), "keeping it local is logged");
        var runs = 0;
        await b.Cache.GetOrFetchAsync(
            "large",
            _ =>
            {
                runs++;
                return Task.FromResult(large);
            },
            SharedValuesJsonContext.Default.String,
            Products);
        Assert.Equal(1, runs);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task Invalidating_a_key_or_clearing_on_A_reaches_every_instance_and_makes_the_shared_values_unreadable(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        var version = 1;
        Task<string> Load(CancellationToken _) => Task.FromResult($"v{version}");
        await a.Cache.GetOrFetchAsync("one", Load, SharedValuesJsonContext.Default.String, Products);
        await a.Cache.GetOrFetchAsync("two", Load, SharedValuesJsonContext.Default.String, Products);
        version = 2;

        await a.Cache.InvalidateAsync("one");
        Assert.Equal("v2", await a.Cache.GetOrFetchAsync("one", Load, SharedValuesJsonContext.Default.String, Products));
        await Eventually.TrueAsync(() => a.Stats.InvalidationsPublished == 1, "the key's invalidation was published");
        Assert.Equal("v1", await b.Cache.GetOrFetchAsync("two", Load, SharedValuesJsonContext.Default.String, Products));

        version = 3;
        await a.Cache.ClearAsync();
        await Eventually.TrueAsync(() => a.Stats.InvalidationsPublished == 2, "the clear was published");
        Assert.Equal("v3", await b.Cache.GetOrFetchAsync("one", Load, SharedValuesJsonContext.Default.String, Products));
        await Eventually.TrueAsync(() => !b.Cache.Keys().Contains("two"), "the clear reached B's own copies");
        Assert.Equal("v3", await b.Cache.GetOrFetchAsync("two", Load, SharedValuesJsonContext.Default.String, Products));
        Assert.Equal("v3", await a.Cache.GetOrFetchAsync("two", Load, SharedValuesJsonContext.Default.String, Products));
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task Values_and_memoized_responses_under_the_same_key_do_not_read_each_other(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var a = await TestNode.StartAsync(redis.Configuration);
        await a.WaitUntilSynchronizedAsync();
        var seq = (await a.Invalidation.ReadSeqAsync(CancellationToken.None))!.Value;
        await a.Store.TrySetAsync("k", Encoding.UTF8.GetBytes("\"from a response\""), TimeSpan.FromSeconds(10), [], seq, CancellationToken.None);

        var value = await a.Cache.GetOrFetchAsync("k", _ => Task.FromResult("fetched"), SharedValuesJsonContext.Default.String, new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(10) });

        Assert.Equal("fetched", value);
    }
}
