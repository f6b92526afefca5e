namespace Coalesce.Tests.Caching;

public sealed class MemoCacheEvictionTests
{
    [Fact]
    public async Task The_least_recently_set_entry_is_evicted_at_the_bound()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 3 });
        foreach (var key in new[] { "a", "b", "c", "d" })
        {
            await cache.SetAsync(key, key);
        }

        Assert.Equal(["b", "c", "d"], cache.Keys());
        Assert.Equal(1, cache.GetStats().Evictions);
    }

    [Fact]
    public async Task Get_refreshes_recency_so_the_least_recently_used_entry_is_evicted()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 3 });
        await cache.SetAsync("a", 1);
        await cache.SetAsync("b", 2);
        await cache.SetAsync("c", 3);

        Assert.Equal(1, await cache.GetAsync<int>("a"));
        await cache.SetAsync("d", 4);

        Assert.Equal(["a", "c", "d"], cache.Keys());
    }

    [Fact]
    public async Task Has_does_not_refresh_recency()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 2 });
        await cache.SetAsync("a", 1);
        await cache.SetAsync("b", 2);

        Assert.True(await cache.HasAsync("a"));
        await cache.SetAsync("c", 3);

        Assert.Equal(["b", "c"], cache.Keys());
    }

    [Fact]
    public async Task Eviction_removes_the_entrys_tags_and_raises_Evicted_with_the_capacity_reason()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 1 });
        var evicted = new List<(string, CacheEvictionReason)>();
        cache.Evicted += (_, e) => evicted.Add((e.Key, e.Reason));
        await cache.SetAsync("a", 1, tags: ["first"]);
        await cache.SetAsync("b", 2, tags: ["second"]);

        Assert.Equal([("a", CacheEvictionReason.Capacity)], evicted);
        Assert.Equal(1, ((LruStore<string, object?>)cache.Backing).TagCount);
        Assert.Equal(0, await cache.InvalidateByTagAsync("first"));
    }

    [Fact]
    public async Task Eviction_order_matches_a_reference_LRU_over_a_random_workload()
    {
        const int Capacity = 16;
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = Capacity });
        var model = new LinkedList<string>();
        var random = new Random(1234);
        for (var step = 0; step < 20_000; step++)
        {
            var key = $"k{random.Next(40)}";
            if (random.Next(3) == 0)
            {
                await cache.SetAsync(key, step);
                model.Remove(key);
                model.AddLast(key);
                if (model.Count > Capacity)
                {
                    model.RemoveFirst();
                }
            }
            else
            {
                var hit = cache.TryGet<int>(key, out _);
                Assert.Equal(model.Contains(key), hit);
                if (hit)
                {
                    model.Remove(key);
                    model.AddLast(key);
                }
            }
        }

        Assert.Equal(model.Order(StringComparer.Ordinal), cache.Keys());
    }

    // One workload for both bounds: with MaxEntries the count is what evicts, with MaxBytes the bytes are; either way the
    // count, the tags and the byte figure must agree with the entries that are left.
    [Theory]
    [InlineData(50, null)]
    [InlineData(null, 50_000L)]
    public async Task Concurrent_writers_and_readers_never_exceed_the_bound_leak_tags_or_misstate_the_bytes(int? maxEntries, long? maxBytes)
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = maxEntries, MaxBytes = maxBytes });
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            await start.Task;
            var random = new Random(worker);
            for (var i = 0; i < 5_000; i++)
            {
                var key = $"k{random.Next(200)}";
                switch (random.Next(4))
                {
                    case 0:
                        await cache.SetAsync(key, new byte[random.Next(5_000)], tags: [$"t{random.Next(10)}"]);
                        break;
                    case 1:
                        await cache.InvalidateByTagAsync($"t{random.Next(10)}");
                        break;
                    default:
                        cache.TryGet<byte[]>(key, out _);
                        break;
                }
            }
        })).ToArray();

        start.SetResult();
        await Task.WhenAll(workers);

        Assert.InRange(cache.Count, 0, maxEntries ?? int.MaxValue);
        Assert.Equal(cache.Count, cache.Keys().Count);
        var tagged = cache.Entries().SelectMany(e => e.Tags).Distinct().Count();
        Assert.Equal(tagged, ((LruStore<string, object?>)cache.Backing).TagCount);
        var bytes = cache.GetStats().ApproximateBytes;
        Assert.InRange(bytes, 0, maxBytes ?? long.MaxValue);
        Assert.Equal(cache.Entries().Sum(e => CacheSizing.Of(e.Key, e.Value, [.. e.Tags])), bytes);
    }
}
