using Coalesce.Testing;

namespace Coalesce.Tests.Batching;

public sealed class BatchingMapProxyTests
{
    private readonly List<int[]> _batches = [];

    [Fact]
    public void Map_deduplicates_keeps_first_occurrence_order_and_fills_duplicates()
    {
        var proxy = new BatchingMapProxy<int, string>(batchSize: 3);

        var outputs = proxy.Map([1, 2, 2, 3, 4, 4, 5], Recorded);

        Assert.Equal(["v1", "v2", "v2", "v3", "v4", "v4", "v5"], outputs);
        Assert.Equal([[1, 2, 3], [4, 5]], _batches);
    }

    [Fact]
    public void Cached_items_are_served_from_the_cache_and_only_new_ones_are_mapped()
    {
        var proxy = new BatchingMapProxy<int, string>();
        proxy.Map([1, 2, 3], Recorded);

        var outputs = proxy.Map([5, 4, 3, 2, 1], Recorded);

        Assert.Equal(["v5", "v4", "v3", "v2", "v1"], outputs);
        Assert.Equal([[1, 2, 3], [5, 4]], _batches);
        Assert.Equal(5, proxy.CachedCount);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(-3)]
    public void A_missing_or_non_positive_batch_size_maps_everything_in_one_call(int? batchSize)
    {
        var proxy = new BatchingMapProxy<int, string>(batchSize);

        proxy.Map([.. Enumerable.Range(0, 100)], Recorded);

        Assert.Single(_batches);
        Assert.Null(proxy.BatchSize);
    }

    [Fact]
    public void Empty_input_maps_nothing()
    {
        var proxy = new BatchingMapProxy<int, string>(2);

        Assert.Empty(proxy.Map([], Recorded));
        Assert.Empty(_batches);
    }

    [Fact]
    public void A_wrong_number_of_outputs_is_an_InvalidOperationException_with_both_counts()
    {
        var proxy = new BatchingMapProxy<int, string>();

        var error = Assert.Throws<InvalidOperationException>(() => proxy.Map([1, 2, 3], batch => ["only one", "two"]));

        Assert.Contains("returned 2 outputs for 3 inputs", error.Message, StringComparison.Ordinal);
        Assert.Contains("expected 3", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, proxy.CachedCount);
    }

    [Fact]
    public void An_exception_releases_the_items_so_the_next_call_retries_them()
    {
        var proxy = new BatchingMapProxy<int, string>(batchSize: 2);
        var fail = true;

        var error = Assert.Throws<FormatException>(() => proxy.Map([1, 2, 3], batch =>
            fail && batch.Contains(3) ? throw new FormatException("bad batch") : Recorded(batch)));

        Assert.Equal("bad batch", error.Message);
        Assert.Equal(2, proxy.CachedCount);
        fail = false;
        Assert.Equal(["v1", "v2", "v3"], proxy.Map([1, 2, 3], Recorded));
        Assert.Equal([3], _batches[^1]);
    }

    [Fact]
    public async Task Overlapping_calls_on_many_threads_compute_each_item_once()
    {
        var proxy = new BatchingMapProxy<int, int>(batchSize: 7);
        var computed = new int[500];
        using var start = new Barrier(8);
        // Dedicated threads: the calls block on each other's batches, which would starve a 2-core thread pool.
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            var items = Enumerable.Range(0, 500).Select(i => (i * (worker + 1)) % 500).ToArray();
            var outputs = proxy.Map(items, batch =>
            {
                foreach (var item in batch)
                {
                    Interlocked.Increment(ref computed[item]);
                }

                Thread.SpinWait(200);
                return [.. batch.Select(i => -i)];
            });
            Assert.Equal(items.Select(i => -i), outputs);
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        await Task.WhenAll(workers);

        Assert.All(computed, count => Assert.Equal(1, count));
    }

    [Fact]
    public void A_bounded_cache_keeps_the_most_recently_used_results_and_honours_the_ttl()
    {
        var time = new ManualTimeProvider();
        var proxy = new BatchingMapProxy<int, string>(
            new BatchingMapProxyOptions { MaxEntries = 2, Ttl = TimeSpan.FromSeconds(10), TimeProvider = time });

        proxy.Map([1, 2], Recorded);
        proxy.Map([1], Recorded);
        proxy.Map([3], Recorded);
        proxy.Map([1, 2, 3], Recorded);
        Assert.Equal([2], _batches[^1]);

        time.Advance(TimeSpan.FromSeconds(10));
        proxy.Map([1, 2, 3], Recorded);
        Assert.Equal([1, 2, 3], _batches[^1]);
    }

    [Fact]
    public void Invalid_arguments_are_rejected_with_their_names()
    {
        var proxy = new BatchingMapProxy<string, string>();

        Assert.Equal("items", Assert.Throws<ArgumentNullException>(() => proxy.Map(null!, b => b)).ParamName);
        Assert.Equal("mapFunc", Assert.Throws<ArgumentNullException>(() => proxy.Map(["a"], null!)).ParamName);
        var nullItem = Assert.Throws<ArgumentException>(() => proxy.Map(["a", null!], b => b));
        Assert.Contains("items[1]", nullItem.Message, StringComparison.Ordinal);
        Assert.Equal("MaxEntries", Assert.Throws<ArgumentOutOfRangeException>(
            () => new BatchingMapProxy<int, int>(new BatchingMapProxyOptions { MaxEntries = 0 })).ParamName);
        Assert.Equal("Ttl", Assert.Throws<ArgumentOutOfRangeException>(
            () => new BatchingMapProxy<int, int>(new BatchingMapProxyOptions { Ttl = TimeSpan.Zero })).ParamName);
    }

    private string[] Recorded(IReadOnlyList<int> batch)
    {
        lock (_batches)
        {
            _batches.Add([.. batch]);
        }

        return [.. batch.Select(i => $"v{i}")];
    }
}
