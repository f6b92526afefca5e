using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

public sealed class MemoCacheTests
{
    [Fact]
    public async Task Set_then_get_returns_the_same_reference()
    {
        using var cache = new MemoCache();
        var user = new List<string> { "Alice" };
        await cache.SetAsync("user:1", user);

        Assert.Same(user, await cache.GetAsync<List<string>>("user:1"));
        Assert.True(cache.TryGet<List<string>>("user:1", out var viaTryGet));
        Assert.Same(user, viaTryGet);
    }

    [Fact]
    public async Task Get_of_a_missing_key_returns_default()
    {
        using var cache = new MemoCache();

        Assert.Null(await cache.GetAsync<string>("nope"));
        Assert.Equal(0, await cache.GetAsync<int>("nope"));
        Assert.False(cache.TryGet<int>("nope", out _));
    }

    [Fact]
    public async Task Has_and_delete_report_only_live_entries()
    {
        using var cache = new MemoCache();
        await cache.SetAsync("a", 1);

        Assert.True(await cache.HasAsync("a"));
        Assert.False(await cache.HasAsync("b"));
        Assert.True(await cache.DeleteAsync("a"));
        Assert.False(await cache.DeleteAsync("a"));
        Assert.False(await cache.HasAsync("a"));
    }

    [Fact]
    public async Task Clear_removes_every_entry_and_its_tags()
    {
        using var cache = new MemoCache();
        await cache.SetAsync("a", 1, tags: ["t"]);
        await cache.SetAsync("b", 2);

        await cache.ClearAsync();

        Assert.Equal(0, cache.Count);
        Assert.Equal(0, ((LruStore<string, object?>)cache.Backing).TagCount);
    }

    [Fact]
    public async Task Set_replaces_the_value_ttl_and_tags_of_an_existing_key()
    {
        var time = new ManualTimeProvider();
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = time });
        await cache.SetAsync("k", "old", TimeSpan.FromSeconds(1), ["old-tag"]);
        await cache.SetAsync("k", "new", TimeSpan.FromMinutes(10), ["new-tag"]);

        time.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal("new", await cache.GetAsync<string>("k"));
        Assert.Equal(0, await cache.InvalidateByTagAsync("old-tag"));
        Assert.Equal(1, await cache.InvalidateByTagAsync("new-tag"));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task Batch_operations_read_write_and_delete_several_keys_in_order()
    {
        using var cache = new MemoCache();
        await cache.SetManyAsync([new KeyValuePair<string, int>("a", 1), new("b", 2), new("c", 3)], tags: ["abc"]);

        Assert.Equal([1, 0, 3], await cache.GetManyAsync<int>(["a", "missing", "c"]));
        Assert.Equal(2, await cache.DeleteManyAsync(["a", "b", "missing"]));
        Assert.Equal(["c"], cache.Keys());
        Assert.Equal(1, await cache.InvalidateByTagAsync("abc"));
    }

    [Fact]
    public async Task Reading_a_value_as_another_type_throws_a_clear_InvalidOperationException()
    {
        using var cache = new MemoCache();
        await cache.SetAsync("answer", 42);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetAsync<string>("answer"));

        Assert.Contains("'answer'", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.Int32", error.Message, StringComparison.Ordinal);
        Assert.Contains("System.String", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stored_null_reads_back_as_a_hit()
    {
        using var cache = new MemoCache();
        await cache.SetAsync<string?>("nothing", null);

        Assert.True(cache.TryGet<string?>("nothing", out var value));
        Assert.Null(value);
        Assert.Equal(1, cache.GetStats().Hits);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void A_zero_or_negative_MaxEntries_is_rejected_naming_the_option(int maxEntries)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new MemoCache(new MemoCacheOptions { MaxEntries = maxEntries }));

        Assert.Equal("MaxEntries", error.ParamName);
        Assert.Contains("at least 1", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void A_zero_or_negative_DefaultTtl_is_rejected_naming_the_option(int seconds)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(
            () => new MemoCache(new MemoCacheOptions { DefaultTtl = TimeSpan.FromSeconds(seconds) }));

        Assert.Equal("DefaultTtl", error.ParamName);
    }

    [Fact]
    public void A_zero_ExpirationScanInterval_is_rejected_naming_the_option()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(
            () => new MemoCache(new MemoCacheOptions { ExpirationScanInterval = TimeSpan.Zero }));

        Assert.Equal("ExpirationScanInterval", error.ParamName);
    }

    [Fact]
    public async Task A_zero_or_negative_ttl_on_set_is_rejected()
    {
        using var cache = new MemoCache();

        var error = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await cache.SetAsync("k", 1, TimeSpan.Zero));

        Assert.Equal("ttl", error.ParamName);
        Assert.False(await cache.HasAsync("k"));
    }

    [Fact]
    public async Task Caches_with_different_namespaces_over_one_store_do_not_see_each_others_entries()
    {
        var shared = new LruStore<string, object?>(null, TimeProvider.System, StringComparer.Ordinal);
        using var products = new MemoCache(new MemoCacheOptions { Namespace = "products" }, shared);
        using var users = new MemoCache(new MemoCacheOptions { Namespace = "users" }, shared);

        await products.SetAsync("1", "chair", tags: ["catalog"]);
        await users.SetAsync("1", "alice", tags: ["catalog"]);
        await users.SetAsync("2", "bob");

        Assert.Equal(1, await users.InvalidateByTagAsync("catalog"));
        await users.ClearAsync();

        Assert.Equal("chair", await products.GetAsync<string>("1"));
        Assert.Null(await users.GetAsync<string>("2"));
        Assert.Equal(["1"], products.Keys());
        Assert.Equal(["catalog"], Assert.Single(products.Entries()).Tags);
        Assert.True(shared.Contains("products:1"));
        Assert.Equal(1, shared.Count);
    }

    [Fact]
    public async Task Keys_and_entries_filter_by_pattern_sort_by_key_and_honour_the_limit()
    {
        var time = new ManualTimeProvider();
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = time, Namespace = "app" });
        await cache.SetAsync("user:2", "b", TimeSpan.FromMinutes(1), ["users"]);
        await cache.SetAsync("user:1", "a");
        await cache.SetAsync("order:1", "o");

        Assert.Equal(["order:1", "user:1", "user:2"], cache.Keys());
        Assert.Equal(["user:1", "user:2"], cache.Keys("user:*"));

        var entries = cache.Entries("user:*", limit: 1);
        var only = Assert.Single(entries);
        Assert.Equal("user:1", only.Key);
        Assert.Null(only.ExpiresAt);

        var timed = Assert.Single(cache.Entries("user:2"));
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromMinutes(1), timed.ExpiresAt);
        Assert.Equal(["users"], timed.Tags);
        Assert.Throws<ArgumentOutOfRangeException>(() => cache.Entries(limit: 0));
    }

    [Fact]
    public async Task A_hit_allocates_nothing()
    {
        using var plain = new MemoCache(new MemoCacheOptions { MaxEntries = 100 });
        using var spaced = new MemoCache(new MemoCacheOptions { Namespace = "ns", DefaultTtl = TimeSpan.FromMinutes(5) });
        await plain.SetAsync("key", 42);
        await spaced.SetAsync("key", "value");
        for (var i = 0; i < 100; i++)
        {
            plain.TryGet<int>("key", out _);
            spaced.TryGet<string>("key", out _);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        long sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            plain.TryGet<int>("key", out var number);
            spaced.TryGet<string>("key", out var text);
            sum += number + text!.Length;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(47_000, sum);
    }

    [Fact]
    public async Task A_GetOrFetchAsync_or_GetAsync_hit_allocates_nothing()
    {
        using var plain = new MemoCache(new MemoCacheOptions { MaxEntries = 100, MaxBytes = 1 << 20 });
        using var spaced = new MemoCache(new MemoCacheOptions { Namespace = "ns", DefaultTtl = TimeSpan.FromMinutes(5) });
        Func<CancellationToken, Task<int>> mustNotRun = _ => throw new InvalidOperationException("must not run");
        Func<CancellationToken, Task<string>> mustNotRunText = _ => throw new InvalidOperationException("must not run");
        string[] tags = ["t"];
        await plain.SetAsync("key", 42);
        await spaced.SetAsync("key", "value");
        for (var i = 0; i < 100; i++)
        {
            await plain.GetOrFetchAsync("key", mustNotRun, TimeSpan.FromMinutes(1), tags);
            await spaced.GetOrFetchAsync("key", mustNotRunText);
            await plain.GetAsync<int>("key");
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        long sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            // Each hit completes synchronously, so these awaits never suspend and the test itself allocates nothing.
            sum += await plain.GetOrFetchAsync("key", mustNotRun, TimeSpan.FromMinutes(1), tags);
            sum += (await spaced.GetOrFetchAsync("key", mustNotRunText)).Length;
            sum += await plain.GetAsync<int>("key");
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(89_000, sum);
    }
}
