using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

/// <summary>The foundation of the stale windows: entries stored with them, read fresh or stale, and what public reads see.</summary>
public sealed class MemoCacheStaleEntryTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Revalidate = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan OnError = TimeSpan.FromSeconds(60);

    private readonly ManualTimeProvider _time = new();

    [Fact]
    public void A_fresh_entry_reads_as_fresh_and_counts_a_hit()
    {
        using var cache = NewCache();
        cache.Store("k", "v", Ttl, null, Revalidate, OnError);
        _time.Advance(TimeSpan.FromSeconds(4));

        Assert.True(cache.TryGetEntry<string>("k", out var value, out var freshness));

        Assert.Equal("v", value);
        Assert.Equal(new EntryFreshness(IsFresh: true, CanRevalidate: true, CanServeOnError: true, TimeSpan.FromSeconds(4), TimeSpan.Zero), freshness);
        Assert.Equal((1, 0), (cache.GetStats().Hits, cache.GetStats().Misses));
        Assert.True(cache.TryGet<string>("k", out _));
    }

    [Fact]
    public void Past_its_ttl_an_entry_is_stale_inside_each_window_and_gone_after_the_longer()
    {
        using var cache = NewCache();
        cache.Store("k", "v", Ttl, null, Revalidate, OnError);

        _time.Advance(Ttl + TimeSpan.FromSeconds(5));
        Assert.True(cache.TryGetEntry<string>("k", out var value, out var freshness));
        Assert.Equal("v", value);
        Assert.Equal(new EntryFreshness(false, true, true, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(5)), freshness);

        _time.Advance(Revalidate - TimeSpan.FromSeconds(5));
        Assert.True(cache.TryGetEntry<string>("k", out _, out freshness));
        Assert.Equal((false, false, true, TimeSpan.FromSeconds(30)), (freshness.IsFresh, freshness.CanRevalidate, freshness.CanServeOnError, freshness.Stale));

        _time.Advance(OnError - Revalidate - TimeSpan.FromTicks(1));
        Assert.True(cache.TryGetEntry<string>("k", out _, out freshness));
        Assert.True(freshness.CanServeOnError);

        _time.Advance(TimeSpan.FromTicks(1));
        Assert.False(cache.TryGetEntry<string>("k", out _, out _));
        Assert.Equal(0, cache.Count);
        Assert.Equal((0, 4), (cache.GetStats().Hits, cache.GetStats().Misses));
    }

    [Fact]
    public async Task Public_reads_never_return_a_stale_entry()
    {
        using var cache = NewCache();
        cache.Store("k", "v", Ttl, ["t"], Revalidate, OnError);
        _time.Advance(Ttl);

        Assert.False(cache.TryGet<string>("k", out _));
        Assert.Null(await cache.GetAsync<string>("k"));
        Assert.False(await cache.HasAsync("k"));
        Assert.Empty(cache.Keys());
        Assert.Empty(cache.Entries());
        Assert.Equal([null], await cache.GetManyAsync<string>(["k"]));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Entries_shows_the_inner_value_and_the_fresh_expiry()
    {
        using var cache = NewCache();
        var expected = _time.GetUtcNow() + Ttl;
        cache.Store("k", "v", Ttl, ["t"], Revalidate, TimeSpan.Zero);

        var entry = Assert.Single(cache.Entries());

        Assert.Equal(new CacheEntry("k", "v", expected, entry.Tags), entry);
        Assert.Equal(["t"], entry.Tags);
        Assert.True(await cache.HasAsync("k"));
    }

    [Fact]
    public void Without_windows_an_entry_is_stored_as_any_and_expires_with_its_ttl()
    {
        using var cache = NewCache();
        cache.Store("k", "v", Ttl, null, TimeSpan.Zero, TimeSpan.Zero);

        Assert.True(cache.TryGetEntry<string>("k", out _, out var freshness));
        Assert.True(freshness.IsFresh);
        Assert.Equal("v", Assert.Single(cache.Entries()).Value);

        _time.Advance(Ttl);
        Assert.False(cache.TryGetEntry<string>("k", out _, out _));
    }

    [Fact]
    public async Task Set_delete_invalidate_and_clear_remove_a_stale_entry_like_any_other()
    {
        using var cache = NewCache();
        foreach (var key in new[] { "set", "delete", "key", "tag", "pattern" })
        {
            cache.Store(key, "v", Ttl, [key], Revalidate, OnError);
        }

        _time.Advance(Ttl);

        await cache.SetAsync("set", "plain");
        Assert.True(cache.TryGetEntry<string>("set", out var replaced, out var freshness));
        Assert.Equal(("plain", true), (replaced, freshness.IsFresh));

        await cache.DeleteAsync("delete");
        await cache.InvalidateAsync("key");
        await cache.InvalidateByTagAsync("tag");
        await cache.InvalidateByPatternAsync("pat*");
        foreach (var key in new[] { "delete", "key", "tag", "pattern" })
        {
            Assert.False(cache.TryGetEntry<string>(key, out _, out _), key);
        }

        cache.Store("cleared", "v", Ttl, null, Revalidate, OnError);
        _time.Advance(Ttl);
        await cache.ClearAsync();
        Assert.False(cache.TryGetEntry<string>("cleared", out _, out _));
    }

    [Fact]
    public void The_sweep_removes_an_entry_only_after_its_longer_window()
    {
        using var cache = NewCache();
        cache.Store("k", "v", Ttl, ["t"], Revalidate, OnError);

        _time.Advance(Ttl + OnError - TimeSpan.FromTicks(1));
        Assert.Equal(0, cache.RemoveExpired());

        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(1, cache.RemoveExpired());
        Assert.Equal(0, ((LruStore<string, object?>)cache.Backing).TagCount);
    }

    [Fact]
    public void A_stale_entry_counts_against_the_byte_bound_with_its_envelope()
    {
        var bare = SizeOf(cache => cache.Store("k", new byte[1000], Ttl, null, TimeSpan.Zero, TimeSpan.Zero));
        var windowed = SizeOf(cache => cache.Store("k", new byte[1000], Ttl, null, Revalidate, TimeSpan.Zero));

        Assert.True(windowed > bare, $"{windowed} > {bare}");
        Assert.Equal(CacheSizing.OfObject(IntPtr.Size + (4 * sizeof(long))), windowed - bare);

        long SizeOf(Action<MemoCache> store)
        {
            using var cache = NewCache();
            store(cache);
            _time.Advance(Ttl);
            return cache.GetStats().ApproximateBytes;
        }
    }

    [Fact]
    public void Stale_entries_are_evicted_by_the_entry_bound()
    {
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = _time, MaxEntries = 2 });
        cache.Store("a", 1, Ttl, null, Revalidate, OnError);
        cache.Store("b", 2, Ttl, null, Revalidate, OnError);
        _time.Advance(Ttl);

        cache.Store("c", 3, Ttl, null, Revalidate, OnError);

        Assert.Equal(2, cache.Count);
        Assert.False(cache.TryGetEntry<int>("a", out _, out _));
    }

    [Fact]
    public void A_huge_window_does_not_overflow()
    {
        using var cache = NewCache();
        cache.Store("k", "v", TimeSpan.MaxValue, null, TimeSpan.MaxValue, TimeSpan.MaxValue);
        cache.Store("j", "v", Ttl, null, TimeSpan.MaxValue, TimeSpan.Zero);

        _time.Advance(TimeSpan.FromDays(3650));

        Assert.True(cache.TryGet<string>("k", out _));
        Assert.True(cache.TryGetEntry<string>("j", out _, out var freshness));
        Assert.Equal((false, true, false), (freshness.IsFresh, freshness.CanRevalidate, freshness.CanServeOnError));
    }

    [Fact]
    public void Invalid_ttls_and_windows_are_rejected_by_name()
    {
        using var cache = NewCache();

        Assert.Equal("ttl", Assert.Throws<ArgumentOutOfRangeException>(() => cache.Store("k", 1, TimeSpan.Zero, null, Revalidate, OnError)).ParamName);
        Assert.Equal("staleWhileRevalidate", Assert.Throws<ArgumentOutOfRangeException>(() => cache.Store("k", 1, Ttl, null, TimeSpan.FromTicks(-1), OnError)).ParamName);
        Assert.Equal("staleIfError", Assert.Throws<ArgumentOutOfRangeException>(() => cache.Store("k", 1, Ttl, null, Revalidate, TimeSpan.FromTicks(-1))).ParamName);
    }

    [Fact]
    public void A_namespaced_cache_reads_its_windowed_entries()
    {
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = _time, Namespace = "ns" });
        cache.Store("k", "v", Ttl, null, Revalidate, OnError);
        _time.Advance(Ttl);

        Assert.True(cache.TryGetEntry<string>("k", out var value, out var freshness));
        Assert.Equal(("v", false), (value, freshness.IsFresh));
    }

    [Fact]
    public async Task A_hit_on_a_windowed_entry_allocates_nothing()
    {
        using var cache = NewCache();
        var options = new CacheEntryOptions { Ttl = Ttl, StaleWhileRevalidate = Revalidate, StaleIfError = OnError };
        Func<CancellationToken, Task<string>> mustNotRun = _ => throw new InvalidOperationException("must not run");
        await cache.SetAsync("k", "value", options);
        for (var i = 0; i < 100; i++)
        {
            cache.TryGet<string>("k", out _);
            cache.TryGetEntry<string>("k", out _, out _);
            await cache.GetOrFetchAsync("k", mustNotRun, options);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        long sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            cache.TryGet<string>("k", out var text);
            cache.TryGetEntry<string>("k", out var entry, out _);
            sum += text!.Length + entry!.Length + (await cache.GetOrFetchAsync("k", mustNotRun, options)).Length;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(15_000, sum);
    }

    private MemoCache NewCache() => new(new MemoCacheOptions { TimeProvider = _time });
}
