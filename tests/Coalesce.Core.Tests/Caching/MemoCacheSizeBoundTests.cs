using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

public sealed class MemoCacheSizeBoundTests
{
    // Every entry below has a one-character key: 24 B of string plus the cache's per-entry bookkeeping.
    private const long PerEntry = CacheSizing.EntryOverhead + 24;

    [Fact]
    public async Task Past_MaxBytes_the_least_recently_used_entries_are_evicted_until_the_new_one_fits()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxBytes = 3 * (PerEntry + 1000) });
        var evicted = new List<(string, CacheEvictionReason)>();
        cache.Evicted += (_, e) => evicted.Add((e.Key, e.Reason));
        await cache.SetAsync("a", new Sized(1000));
        await cache.SetAsync("b", new Sized(1000));
        await cache.SetAsync("c", new Sized(1000));
        Assert.True(cache.TryGet<Sized>("a", out _));

        await cache.SetAsync("d", new Sized(1000));
        Assert.Equal(["a", "c", "d"], cache.Keys());

        // One entry worth two of the others pushes out the two least recently used.
        await cache.SetAsync("e", new Sized(PerEntry + 2000));
        Assert.Equal(["d", "e"], cache.Keys());

        Assert.Equal([("b", CacheEvictionReason.Capacity), ("c", CacheEvictionReason.Capacity), ("a", CacheEvictionReason.Capacity)], evicted);
        var stats = cache.GetStats();
        Assert.Equal((2, 3, 0), (stats.Size, stats.Evictions, stats.Rejections));
        Assert.Equal((PerEntry + 1000) + (PerEntry + PerEntry + 2000), stats.ApproximateBytes);
    }

    [Fact]
    public async Task A_value_larger_than_MaxEntryBytes_is_not_stored_and_is_counted_and_reported()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxBytes = 100_000, MaxEntryBytes = PerEntry + 500 });
        var log = new List<string>();
        cache.Set += (_, e) => log.Add($"set {e.Key}");
        cache.Rejected += (_, e) => log.Add($"rejected {e.Key} {e.Size} {e.Limit}");
        await cache.SetAsync("k", new Sized(500));
        await cache.SetAsync("x", new Sized(10));

        await cache.SetAsync("k", new Sized(501));

        // The older value was superseded by the write, so it must not be served either.
        Assert.False(cache.TryGet<Sized>("k", out _));
        Assert.Equal(["x"], cache.Keys());
        Assert.Equal(["set k", "set x", $"rejected k {PerEntry + 501} {PerEntry + 500}"], log);
        var stats = cache.GetStats();
        Assert.Equal((1, 1, 0), (stats.Size, stats.Rejections, stats.Evictions));
        Assert.Equal(PerEntry + 10, stats.ApproximateBytes);
    }

    [Fact]
    public async Task A_fetched_value_too_large_to_keep_still_reaches_every_caller()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntryBytes = PerEntry + 100 });
        var big = new Sized(101);
        var runs = 0;

        Assert.Same(big, await cache.GetOrFetchAsync("k", _ => { runs++; return Task.FromResult(big); }));
        Assert.Same(big, await cache.GetOrFetchAsync("k", _ => { runs++; return Task.FromResult(big); }));

        Assert.Equal(2, runs);
        Assert.Equal(0, cache.Count);
        Assert.Equal(2, cache.GetStats().Rejections);
    }

    [Fact]
    public async Task Without_MaxEntryBytes_an_entry_larger_than_MaxBytes_is_rejected_rather_than_emptying_the_cache()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxBytes = 2 * (PerEntry + 100) });
        await cache.SetAsync("a", new Sized(100));

        await cache.SetAsync("b", new Sized((2 * (PerEntry + 100)) - PerEntry + 1));

        Assert.Equal(["a"], cache.Keys());
        Assert.Equal((1, 0), (cache.GetStats().Rejections, cache.GetStats().Evictions));
    }

    [Fact]
    public async Task MaxEntries_and_MaxBytes_both_hold_whichever_is_reached_first()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 2, MaxBytes = 10 * PerEntry });
        await cache.SetAsync("a", "x");
        await cache.SetAsync("b", "x");
        await cache.SetAsync("c", "x");
        Assert.Equal(["b", "c"], cache.Keys());

        await cache.SetAsync("d", new Sized(9 * PerEntry));
        Assert.Equal(["d"], cache.Keys());
    }

    [Fact]
    public async Task Byte_eviction_matches_a_reference_LRU_over_a_random_workload()
    {
        const long MaxBytes = 20_000;
        using var cache = new MemoCache(new MemoCacheOptions { MaxBytes = MaxBytes, MaxEntryBytes = 5_000 });
        var model = new LinkedList<(string Key, long Size)>();
        var random = new Random(4321);
        long rejections = 0;
        for (var step = 0; step < 20_000; step++)
        {
            var key = $"k{random.Next(10)}"; // two characters: 26 -> 32 B
            var existing = model.FirstOrDefault(e => e.Key == key);
            if (random.Next(3) == 0)
            {
                var size = CacheSizing.EntryOverhead + 32 + random.Next(6_000);
                await cache.SetAsync(key, new Sized(size - CacheSizing.EntryOverhead - 32));
                if (existing.Key is not null)
                {
                    model.Remove(existing);
                }

                if (size > 5_000)
                {
                    rejections++;
                    continue;
                }

                model.AddLast((key, size));
                while (model.Sum(e => e.Size) > MaxBytes)
                {
                    model.RemoveFirst();
                }
            }
            else
            {
                var hit = cache.TryGet<Sized>(key, out _);
                Assert.Equal(existing.Key is not null, hit);
                if (hit)
                {
                    model.Remove(existing);
                    model.AddLast(existing);
                }
            }
        }

        Assert.Equal(model.Select(e => e.Key).Order(StringComparer.Ordinal), cache.Keys());
        Assert.Equal(model.Sum(e => e.Size), cache.GetStats().ApproximateBytes);
        Assert.Equal(rejections, cache.GetStats().Rejections);
    }

    [Fact]
    public async Task Evicted_expired_and_deleted_values_are_not_kept_alive_by_the_stores_bookkeeping()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxBytes = 10 * PerEntry, TimeProvider = new ManualTimeProvider() });
        var gone = new List<WeakReference>();
        for (var i = 0; i < 50; i++)
        {
            gone.Add(await StoreAsync(cache, $"k{i % 10}", TimeSpan.FromHours(1))); // replaced, then evicted
        }

        await cache.ClearAsync();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.DoesNotContain(gone, reference => reference.IsAlive);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> StoreAsync(MemoCache cache, string key, TimeSpan ttl)
    {
        var value = new Sized(PerEntry);
        await cache.SetAsync(key, value, ttl);
        return new WeakReference(value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_MaxBytes_below_one_is_rejected_naming_the_option_and_its_range(long maxBytes)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MemoCache(new MemoCacheOptions { MaxBytes = maxBytes }));

        Assert.Equal("MaxBytes", error.ParamName);
        Assert.Contains("MemoCacheOptions.MaxBytes must be at least 1 byte, or null for no bound", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, null)]
    [InlineData(2_000L, 1_000L)]
    public void A_MaxEntryBytes_below_one_or_above_MaxBytes_is_rejected_naming_the_option_and_its_range(long maxEntryBytes, long? maxBytes)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(
            () => new MemoCache(new MemoCacheOptions { MaxEntryBytes = maxEntryBytes, MaxBytes = maxBytes }));

        Assert.Equal("MaxEntryBytes", error.ParamName);
        Assert.Contains("MemoCacheOptions.MaxEntryBytes must be at least 1 byte and at most MaxBytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MaxEntryBytes_alone_and_equal_to_MaxBytes_are_accepted()
    {
        using var alone = new MemoCache(new MemoCacheOptions { MaxEntryBytes = 1 });
        using var equal = new MemoCache(new MemoCacheOptions { MaxEntryBytes = 1_000, MaxBytes = 1_000 });
    }

    private sealed class Sized(long size) : ICacheSizeAware
    {
        public long ApproximateSize => size;
    }
}
