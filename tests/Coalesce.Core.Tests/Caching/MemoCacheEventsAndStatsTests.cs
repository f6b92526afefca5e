using System.Diagnostics.Metrics;
using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

public sealed class MemoCacheEventsAndStatsTests
{
    [Fact]
    public async Task Events_report_hits_misses_sets_deletes_evictions_and_invalidations()
    {
        var time = new ManualTimeProvider();
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 2, TimeProvider = time, ExpirationScanInterval = null });
        var log = new List<string>();
        cache.Hit += (_, e) => log.Add($"hit {e.Key}");
        cache.Miss += (_, e) => log.Add($"miss {e.Key}");
        cache.Set += (_, e) => log.Add($"set {e.Key}");
        cache.Deleted += (_, e) => log.Add($"delete {e.Key}");
        cache.Evicted += (_, e) => log.Add($"evict {e.Key} {e.Reason}");
        cache.Invalidated += (_, e) => log.Add($"invalidate {e.Count}");

        await cache.SetAsync("a", 1, tags: ["t"]);
        await cache.GetAsync<int>("a");
        await cache.GetAsync<int>("b");
        await cache.SetAsync("b", 2, TimeSpan.FromSeconds(1), ["t"]);
        await cache.SetAsync("c", 3);
        await cache.DeleteAsync("c");
        time.Advance(TimeSpan.FromSeconds(1));
        await cache.GetAsync<int>("b");
        await cache.SetAsync("d", 4, tags: ["t"]);
        await cache.InvalidateByTagAsync("t");

        Assert.Equal(
            ["set a", "hit a", "miss b", "set b", "evict a Capacity", "set c", "delete c", "evict b Expired", "miss b", "set d", "invalidate 1"],
            log);
    }

    [Fact]
    public async Task A_throwing_handler_does_not_break_the_cache_and_later_handlers_still_run()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 1 });
        var seen = 0;
        cache.Hit += (_, _) => throw new InvalidOperationException("bad handler");
        cache.Hit += (_, _) => seen++;
        cache.Set += (_, _) => throw new InvalidOperationException("bad handler");
        cache.Evicted += (_, _) => throw new InvalidOperationException("bad handler");

        await cache.SetAsync("a", 1);
        await cache.SetAsync("b", 2);

        Assert.Equal(2, await cache.GetAsync<int>("b"));
        Assert.Equal(1, seen);
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task A_removed_handler_is_no_longer_called()
    {
        using var cache = new MemoCache();
        var calls = 0;
        void OnMiss(object? sender, CacheKeyEventArgs e) => calls++;
        cache.Miss += OnMiss;
        await cache.GetAsync<int>("x");
        cache.Miss -= OnMiss;
        await cache.GetAsync<int>("x");

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Stats_count_hits_misses_size_evictions_and_the_hit_rate()
    {
        using var cache = new MemoCache(new MemoCacheOptions { MaxEntries = 2 });
        Assert.Equal(0, cache.GetStats().HitRate);
        await cache.SetAsync("a", 1);
        await cache.SetAsync("b", 2);
        await cache.SetAsync("c", 3);
        await cache.GetAsync<int>("c");
        await cache.GetAsync<int>("b");
        await cache.GetAsync<int>("c");
        await cache.GetAsync<int>("a");

        var stats = cache.GetStats();

        Assert.Equal((3, 1, 2, 1), (stats.Hits, stats.Misses, stats.Size, stats.Evictions));
        Assert.Equal(0.75, stats.HitRate);
        cache.ResetStats();
        Assert.Equal((0, 0, 2), (cache.GetStats().Hits, cache.GetStats().Misses, cache.GetStats().Size));
    }

    [Fact]
    public async Task Approximate_bytes_count_bookkeeping_keys_tags_and_values_of_known_size()
    {
        using var cache = new MemoCache();
        const long Entry = CacheSizing.EntryOverhead;
        const long OneCharKey = 24; // 16 B header + 4 B length + 2 B char + 2 B terminator, rounded up to 8
        await cache.SetAsync("s", "hello"); // 22 + 10 -> 32
        await cache.SetAsync("b", new byte[100]); // 24 B array header + 100 -> 128
        await cache.SetAsync("m", new ReadOnlyMemory<byte>(new byte[50])); // 32 B box + (24 + 50 -> 80)
        await cache.SetAsync("z", new Sized(1000));
        await cache.SetAsync("o", new object()); // size unknown: bookkeeping and key only
        await cache.SetAsync("t", new Sized(0), tags: ["ab"]); // 8 B array + 16 + tag "ab" (22 + 4 -> 32) + 24 B index slot

        Assert.Equal(
            (6 * (Entry + OneCharKey)) + 32 + 128 + (32 + 80) + 1000 + (32 + 32 + 24),
            cache.GetStats().ApproximateBytes);
        await cache.DeleteAsync("z");
        await cache.DeleteAsync("t");
        await cache.SetAsync("s", "hi"); // 22 + 4 -> 32 still: sizes round up to 8
        await cache.SetAsync("o", "a longer string!"); // 22 + 32 -> 56
        Assert.Equal((4 * (Entry + OneCharKey)) + 32 + 128 + (32 + 80) + 56, cache.GetStats().ApproximateBytes);
    }

    [Fact]
    public async Task Lookups_by_result_evictions_entries_and_bytes_are_published_on_the_factorys_Coalesce_meter()
    {
        var name = $"metrics-{Guid.NewGuid():N}";
        using var factory = new TestMeterFactory();
        using var cache = new MemoCache(new MemoCacheOptions { Name = name, MaxEntries = 1, MeterFactory = factory });
        await cache.SetAsync("a", 1);
        await cache.SetAsync("b", 2);
        await cache.GetAsync<int>("b");
        await cache.GetAsync<int>("a");
        var seen = new Dictionary<string, long>();
        var units = new Dictionary<string, string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Meter.Name == "Coalesce")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tagList = tags.ToArray();
            Assert.Contains(new KeyValuePair<string, object?>("coalesce.cache.name", name), tagList);
            var result = tagList.FirstOrDefault(t => t.Key == "coalesce.result").Value as string;
            seen[result is null ? instrument.Name : $"{instrument.Name}[{result}]"] = value;
            units[instrument.Name] = instrument.Unit;
        });
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.Equal(1, seen["coalesce.cache.lookups[hit]"]);
        Assert.Equal(1, seen["coalesce.cache.lookups[miss]"]);
        Assert.Equal(1, seen["coalesce.cache.evictions"]);
        Assert.Equal(1, seen["coalesce.cache.entries"]);
        Assert.Equal(0, seen["coalesce.cache.rejections"]);
        Assert.True(seen["coalesce.cache.bytes"] > 0);
        Assert.Equal("{lookup}", units["coalesce.cache.lookups"]);
        Assert.Equal("By", units["coalesce.cache.bytes"]);
    }

    [Fact]
    public void A_disposed_cache_is_no_longer_published()
    {
        var name = $"disposed-{Guid.NewGuid():N}";
        new MemoCache(new MemoCacheOptions { Name = name }).Dispose();
        var seenName = false;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Coalesce")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            seenName |= tags.ToArray().Contains(new KeyValuePair<string, object?>("coalesce.cache.name", name)));
        listener.Start();

        listener.RecordObservableInstruments();

        Assert.False(seenName);
    }

    private sealed class Sized(long size) : ICacheSizeAware
    {
        public long ApproximateSize => size;
    }
}
