using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

public sealed class MemoCacheExpiryTests
{
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task An_entry_expires_exactly_when_its_ttl_has_elapsed()
    {
        using var cache = NewCache();
        await cache.SetAsync("k", "v", TimeSpan.FromSeconds(10));

        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.Equal("v", await cache.GetAsync<string>("k"));

        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Null(await cache.GetAsync<string>("k"));
        Assert.False(await cache.HasAsync("k"));
        Assert.Equal(1, cache.GetStats().Expirations);
    }

    [Fact]
    public async Task The_default_ttl_applies_to_entries_set_without_one()
    {
        using var cache = NewCache(defaultTtl: TimeSpan.FromMinutes(1));
        await cache.SetAsync("k", 1);
        await cache.SetAsync("longer", 2, TimeSpan.FromMinutes(5));

        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.False(await cache.HasAsync("k"));
        Assert.True(await cache.HasAsync("longer"));
    }

    [Fact]
    public async Task Moving_the_wall_clock_neither_revives_nor_extends_an_entry()
    {
        using var cache = NewCache();
        await cache.SetAsync("k", "v", TimeSpan.FromSeconds(10));

        _time.SetWallClock(_time.GetUtcNow() - TimeSpan.FromDays(1));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(cache.TryGet<string>("k", out _));

        await cache.SetAsync("k2", "v", TimeSpan.FromSeconds(10));
        _time.SetWallClock(_time.GetUtcNow() + TimeSpan.FromDays(1));
        Assert.True(cache.TryGet<string>("k2", out _));
    }

    [Fact]
    public async Task Expired_entries_are_never_listed_or_invalidated()
    {
        using var cache = NewCache();
        await cache.SetAsync("gone", 1, TimeSpan.FromSeconds(1), ["t"]);
        await cache.SetAsync("kept", 2, tags: ["t"]);

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(["kept"], cache.Keys());
        Assert.Single(cache.Entries());
        Assert.Equal(1, await cache.InvalidateByTagAsync("t"));
    }

    [Fact]
    public async Task The_sweep_timer_removes_expired_entries_nobody_reads_and_their_tags()
    {
        using var cache = NewCache(scan: TimeSpan.FromSeconds(30));
        for (var i = 0; i < 50; i++)
        {
            await cache.SetAsync($"k{i}", i, TimeSpan.FromSeconds(10), [$"tag{i}", "all"]);
        }

        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal(0, cache.Count);
        var store = (LruStore<string, object?>)cache.Backing;
        Assert.Equal(0, store.TagCount);
        Assert.Equal(0, store.HeapNodes);
        Assert.Equal(50, cache.GetStats().Expirations);
    }

    [Fact]
    public async Task Writes_sweep_expired_entries_even_without_a_timer()
    {
        using var cache = NewCache(scan: null);
        await cache.SetAsync("old", 1, TimeSpan.FromSeconds(1), ["t"]);

        _time.Advance(TimeSpan.FromSeconds(2));
        await cache.SetAsync("new", 2);

        Assert.Equal(1, cache.Count);
        Assert.Equal(0, ((LruStore<string, object?>)cache.Backing).TagCount);
    }

    [Fact]
    public async Task RemoveExpired_returns_how_many_entries_went()
    {
        using var cache = NewCache(scan: null);
        await cache.SetAsync("a", 1, TimeSpan.FromSeconds(1));
        await cache.SetAsync("b", 2, TimeSpan.FromSeconds(1));
        await cache.SetAsync("c", 3);

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(2, cache.RemoveExpired());
        Assert.Equal(0, cache.RemoveExpired());
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Replacing_a_key_repeatedly_keeps_the_heaps_proportional_to_the_store()
    {
        using var cache = NewCache(scan: null, maxEntries: 10);
        for (var i = 0; i < 10_000; i++)
        {
            await cache.SetAsync($"k{i % 5}", i, TimeSpan.FromHours(1));
        }

        Assert.Equal(5, cache.Count);
        Assert.True(((LruStore<string, object?>)cache.Backing).HeapNodes < 300);
    }

    [Fact]
    public void Dispose_stops_the_sweep_timer()
    {
        var cache = NewCache(scan: TimeSpan.FromSeconds(30));
        Assert.Equal(1, _time.PendingTimers);

        cache.Dispose();

        Assert.Equal(0, _time.PendingTimers);
    }

    private MemoCache NewCache(TimeSpan? defaultTtl = null, TimeSpan? scan = null, int? maxEntries = null) =>
        new(new MemoCacheOptions { TimeProvider = _time, DefaultTtl = defaultTtl, ExpirationScanInterval = scan, MaxEntries = maxEntries });
}
