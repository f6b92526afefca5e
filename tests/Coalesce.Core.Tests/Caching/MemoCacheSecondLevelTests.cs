using System.Text;
using System.Text.Json;
using Coalesce.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Coalesce.Tests.Caching;

public sealed class MemoCacheSecondLevelTests
{
    private static readonly CacheEntryOptions ThirtySeconds = new() { Ttl = TimeSpan.FromSeconds(30), Tags = ["products"] };
    private readonly ManualTimeProvider _time = new();
    private readonly FakeMemoCacheLevel _level;

    public MemoCacheSecondLevelTests()
    {
        _level = new FakeMemoCacheLevel(_time);
    }

    [Fact]
    public async Task A_value_fetched_by_one_cache_is_served_by_another_without_running_its_fetcher()
    {
        using var a = NewCache();
        using var b = NewCache();

        var first = await a.GetOrFetchAsync("p:1", _ => Task.FromResult(new Product(1, "Lamp", 9.5m)), SecondLevelJsonContext.Default.Product, ThirtySeconds);
        _time.Advance(TimeSpan.FromSeconds(10));
        var second = await b.GetOrFetchAsync<Product>("p:1", _ => throw new InvalidOperationException("must not run"), SecondLevelJsonContext.Default.Product, ThirtySeconds);

        Assert.Equal(first, second);
        Assert.NotSame(first, second);
        Assert.Equal(1, a.GetStats().SecondLevelWrites);
        Assert.Equal(1, b.GetStats().SecondLevelHits);
        Assert.Equal(["products"], _level.Entries["p:1"].Tags);
    }

    [Fact]
    public async Task A_second_level_hit_lives_locally_only_for_its_remaining_time_to_live()
    {
        using var a = NewCache();
        using var b = NewCache();
        await a.GetOrFetchAsync("p:1", _ => Task.FromResult(new Product(1, "Lamp", 9.5m)), SecondLevelJsonContext.Default.Product, ThirtySeconds);
        _time.Advance(TimeSpan.FromSeconds(20));
        await b.GetOrFetchAsync<Product>("p:1", _ => throw new InvalidOperationException("must not run"), SecondLevelJsonContext.Default.Product, ThirtySeconds);

        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.True(b.TryGet<Product>("p:1", out _));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(b.TryGet<Product>("p:1", out _));
    }

    [Fact]
    public async Task A_local_hit_never_asks_the_second_level_and_allocates_nothing()
    {
        using var cache = NewCache();
        var typeInfo = SecondLevelJsonContext.Default.String;
        Func<CancellationToken, Task<string>> fetch = _ => Task.FromResult("value");
        await cache.GetOrFetchAsync("k", fetch, typeInfo, ThirtySeconds);
        var reads = _level.Reads;

        var before = GC.GetAllocatedBytesForCurrentThread();
        long sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            sum += (await cache.GetOrFetchAsync("k", fetch, typeInfo, ThirtySeconds)).Length;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(5000, sum);
        Assert.Equal(reads, _level.Reads);
    }

    [Fact]
    public async Task Concurrent_misses_ask_the_second_level_once_and_fetch_once()
    {
        using var cache = NewCache();
        var gate = new TaskCompletionSource<Product>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Task<Product> Fetch(CancellationToken _)
        {
            Interlocked.Increment(ref runs);
            return gate.Task;
        }

        var callers = Enumerable.Range(0, 50)
            .Select(_ => Task.Run(() => cache.GetOrFetchAsync("p:1", Fetch, SecondLevelJsonContext.Default.Product, ThirtySeconds).AsTask()))
            .ToArray();
        while (Volatile.Read(ref runs) == 0)
        {
            await Task.Yield();
        }

        gate.SetResult(new Product(1, "Lamp", 9.5m));
        await Task.WhenAll(callers);

        Assert.Equal(1, runs);
        Assert.Equal(1, _level.Reads);
        Assert.Equal(1, _level.Writes);
    }

    [Fact]
    public async Task A_tag_invalidated_elsewhere_makes_the_entry_unreadable_and_the_fetcher_runs()
    {
        using var a = NewCache();
        using var b = NewCache();
        await a.GetOrFetchAsync("p:1", _ => Task.FromResult(new Product(1, "Lamp", 9.5m)), SecondLevelJsonContext.Default.Product, ThirtySeconds);

        _level.InvalidateTag("products");
        var fresh = await b.GetOrFetchAsync("p:1", _ => Task.FromResult(new Product(1, "Lamp", 12m)), SecondLevelJsonContext.Default.Product, ThirtySeconds);

        Assert.Equal(12m, fresh.Price);
        Assert.Equal(1, b.GetStats().SecondLevelMisses);
        Assert.Equal(1, b.GetStats().SecondLevelWrites);
    }

    [Fact]
    public async Task A_fetch_that_began_before_an_invalidation_elsewhere_is_not_shared()
    {
        using var cache = NewCache();
        var value = await cache.GetOrFetchAsync(
            "p:1",
            _ =>
            {
                _level.InvalidateTag("products");
                return Task.FromResult(new Product(1, "Lamp", 9.5m));
            },
            SecondLevelJsonContext.Default.Product,
            ThirtySeconds);

        Assert.Equal(9.5m, value.Price);
        Assert.Empty(_level.Entries);
        Assert.Equal(1, cache.GetStats().SecondLevelSkips);
    }

    [Fact]
    public async Task A_fetch_that_began_before_a_local_invalidation_is_kept_nowhere()
    {
        using var cache = NewCache();
        var value = await cache.GetOrFetchAsync(
            "p:1",
            async _ =>
            {
                await cache.InvalidateByTagAsync("products", CancellationToken.None);
                return new Product(1, "Lamp", 9.5m);
            },
            SecondLevelJsonContext.Default.Product,
            ThirtySeconds);

        Assert.Equal(9.5m, value.Price);
        Assert.Empty(_level.Entries);
        Assert.False(cache.TryGet<Product>("p:1", out _));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"Id\":\"x\"}")]
    [InlineData("")]
    public async Task A_malformed_payload_is_a_miss_and_the_fetcher_runs(string payload)
    {
        using var cache = NewCache();
        _level.Put("p:1", Encoding.UTF8.GetBytes(payload), TimeSpan.FromSeconds(30), "products");

        var value = await cache.GetOrFetchAsync("p:1", _ => Task.FromResult(new Product(1, "Lamp", 9.5m)), SecondLevelJsonContext.Default.Product, ThirtySeconds);

        Assert.Equal(9.5m, value.Price);
        Assert.Equal(1, cache.GetStats().SecondLevelMisses);
        Assert.Equal(1, cache.GetStats().SecondLevelWrites);
        Assert.Equal(value, JsonSerializer.Deserialize(_level.Entries["p:1"].Payload, SecondLevelJsonContext.Default.Product));
    }

    [Fact]
    public async Task A_level_that_throws_or_is_down_leaves_the_cache_working_in_memory()
    {
        using var cache = NewCache();
        _level.Throws = true;
        Assert.Equal("a", await cache.GetOrFetchAsync("a", _ => Task.FromResult("a"), SecondLevelJsonContext.Default.String, ThirtySeconds));
        _level.Throws = false;
        _level.Down = true;
        Assert.Equal("b", await cache.GetOrFetchAsync("b", _ => Task.FromResult("b"), SecondLevelJsonContext.Default.String, ThirtySeconds));

        Assert.True(cache.TryGet<string>("a", out _));
        Assert.True(cache.TryGet<string>("b", out _));
        Assert.Equal(2, cache.GetStats().SecondLevelSkips);
        Assert.Empty(_level.Entries);
    }

    [Fact]
    public async Task A_value_too_large_for_the_level_or_that_does_not_serialize_stays_in_memory()
    {
        using var cache = NewCache();
        _level.MaxPayload = 10;

        var large = await cache.GetOrFetchAsync("large", _ => Task.FromResult(new string('x', 100)), SecondLevelJsonContext.Default.String, ThirtySeconds);
        var odd = await cache.GetOrFetchAsync("odd", _ => Task.FromResult(new Unserializable("v")), SecondLevelJsonContext.Default.Unserializable, ThirtySeconds);

        Assert.Equal(100, large.Length);
        Assert.Equal("v", odd.Value);
        Assert.True(cache.TryGet<string>("large", out _));
        Assert.True(cache.TryGet<Unserializable>("odd", out _));
        Assert.Equal(2, cache.GetStats().SecondLevelSkips);
        Assert.Empty(_level.Entries);
    }

    [Fact]
    public async Task A_value_without_a_time_to_live_is_not_shared()
    {
        using var cache = NewCache();

        await cache.GetOrFetchAsync("k", _ => Task.FromResult("v"), SecondLevelJsonContext.Default.String);

        Assert.Empty(_level.Entries);
        Assert.Equal(1, cache.GetStats().SecondLevelSkips);
    }

    [Fact]
    public async Task Without_a_type_info_nothing_reaches_the_level()
    {
        using var cache = NewCache();

        await cache.GetOrFetchAsync("k", _ => Task.FromResult("v"), ThirtySeconds);

        Assert.Equal(0, _level.Reads);
        Assert.Empty(_level.Entries);
    }

    [Fact]
    public async Task Namespaced_caches_share_under_their_store_keys()
    {
        using var a = new MemoCache(new MemoCacheOptions { TimeProvider = _time, SecondLevel = _level, Namespace = "ns" });

        await a.GetOrFetchAsync("k", _ => Task.FromResult("v"), SecondLevelJsonContext.Default.String, ThirtySeconds);

        Assert.Equal(["ns:products"], _level.Entries["ns:k"].Tags);
    }

    [Fact]
    public async Task A_memoized_function_with_a_result_type_info_is_shared_across_caches()
    {
        using var a = NewCache();
        using var b = NewCache();
        var runs = 0;
        MemoizedFunction<int, Product> Memoize(MemoCache cache) => cache.Memoize<int, Product>(
            (id, _) =>
            {
                Interlocked.Increment(ref runs);
                return Task.FromResult(new Product(id, "Lamp", 9.5m));
            },
            new MemoizeOptions<int> { Name = "product", Ttl = TimeSpan.FromMinutes(1), ResultTypeInfo = SecondLevelJsonContext.Default.Product });

        var first = await Memoize(a).InvokeAsync(7);
        var second = await Memoize(b).InvokeAsync(7);

        Assert.Equal(first, second);
        Assert.Equal(1, runs);
    }

    [Fact]
    public void A_result_type_info_of_another_type_or_on_a_synchronous_function_is_refused()
    {
        using var cache = NewCache();
        var options = new MemoizeOptions<int> { ResultTypeInfo = SecondLevelJsonContext.Default.String };

        var wrongType = Assert.Throws<ArgumentException>(() => cache.Memoize<int, Product>((id, _) => Task.FromResult(new Product(id, "x", 1)), options));
        var sync = Assert.Throws<ArgumentException>(() => cache.MemoizeSync<int, string>(id => "x", options));

        Assert.Contains("ResultTypeInfo", wrongType.Message, StringComparison.Ordinal);
        Assert.Contains("ResultTypeInfo", sync.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_resilient_function_with_a_cache_type_info_is_shared_across_caches()
    {
        using var a = NewCache();
        using var b = NewCache();
        var runs = 0;
        Func<int, CancellationToken, Task<Product>> Wrap(MemoCache cache) => Resilient.Wrap<int, Product>(
            (id, _) =>
            {
                Interlocked.Increment(ref runs);
                return Task.FromResult(new Product(id, "Lamp", 9.5m));
            },
            new ResilienceOptions { Name = "products", Cache = cache, CacheTtl = TimeSpan.FromMinutes(1), CacheTypeInfo = SecondLevelJsonContext.Default.Product });

        await Wrap(a)(3, CancellationToken.None);
        var shared = await Wrap(b)(3, CancellationToken.None);

        Assert.Equal(3, shared.Id);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task The_level_hears_every_invalidation_with_store_keys_and_tags()
    {
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = _time, SecondLevel = _level, Namespace = "ns" });

        await cache.InvalidateAsync("k");
        await cache.DeleteAsync("d");
        await cache.InvalidateByTagAsync("t");
        await cache.InvalidateByPatternAsync("p*");
        await cache.ClearAsync();

        Assert.Collection(
            _level.Invalidations,
            i => Assert.Equal("ns:k", i.Key),
            i => Assert.Equal("ns:d", i.Key),
            i => Assert.Equal(["ns:t"], i.Tags!),
            i => Assert.True(i.IsEverything),
            i => Assert.True(i.IsEverything));
    }

    [Fact]
    public async Task Second_level_outcomes_are_published_on_the_Coalesce_meter()
    {
        using var meters = new TestMeterFactory();
        using var a = new MemoCache(new MemoCacheOptions { TimeProvider = _time, SecondLevel = _level, MeterFactory = meters, Name = "shared" });
        using var b = new MemoCache(new MemoCacheOptions { TimeProvider = _time, SecondLevel = _level });
        using var collector = new MetricCollector<long>(meters, "Coalesce", "coalesce.cache.second_level");
        await a.GetOrFetchAsync("k", _ => Task.FromResult("v"), SecondLevelJsonContext.Default.String, ThirtySeconds);
        await a.GetOrFetchAsync("no-ttl", _ => Task.FromResult("v"), SecondLevelJsonContext.Default.String);
        await b.GetOrFetchAsync("k2", _ => Task.FromResult("v"), SecondLevelJsonContext.Default.String, ThirtySeconds);
        await a.GetOrFetchAsync("k2", _ => Task.FromResult("v"), SecondLevelJsonContext.Default.String, ThirtySeconds);

        collector.RecordObservableInstruments();

        var byResult = collector.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["coalesce.result"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, long> { ["hit"] = 1, ["miss"] = 2, ["write"] = 1, ["skip"] = 1 }, byResult);
    }

    private MemoCache NewCache() => new(new MemoCacheOptions { TimeProvider = _time, SecondLevel = _level });
}
