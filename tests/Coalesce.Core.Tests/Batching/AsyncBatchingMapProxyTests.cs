namespace Coalesce.Tests.Batching;

public sealed class AsyncBatchingMapProxyTests
{
    [Fact]
    public async Task MapAsync_deduplicates_batches_and_returns_outputs_in_input_order()
    {
        var proxy = new AsyncBatchingMapProxy<int, string>(batchSize: 2, maxConcurrency: 2);
        var batches = new List<int[]>();

        var outputs = await proxy.MapAsync([3, 1, 3, 2, 1, 4], (batch, _) =>
        {
            lock (batches)
            {
                batches.Add([.. batch]);
            }

            return Task.FromResult<IReadOnlyList<string>>([.. batch.Select(i => $"v{i}")]);
        });

        Assert.Equal(["v3", "v1", "v3", "v2", "v1", "v4"], outputs);
        Assert.Equal([[2, 4], [3, 1]], batches.Order(Comparer<int[]>.Create((a, b) => a[0].CompareTo(b[0]))));
    }

    [Fact]
    public async Task An_item_in_flight_in_another_call_is_awaited_not_recomputed()
    {
        var proxy = new AsyncBatchingMapProxy<int, int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var computed = new List<int>();
        async Task<IReadOnlyList<int>> Slow(IReadOnlyList<int> batch, CancellationToken ct)
        {
            lock (computed)
            {
                computed.AddRange(batch);
            }

            await gate.Task;
            return [.. batch.Select(i => i * 10)];
        }

        var first = proxy.MapAsync([1, 2, 3, 4], Slow);
        var second = proxy.MapAsync([3, 4, 5], Slow);
        gate.SetResult();

        Assert.Equal([10, 20, 30, 40], await first);
        Assert.Equal([30, 40, 50], await second);
        Assert.Equal([1, 2, 3, 4, 5], computed.Order());
    }

    [Fact]
    public async Task Hundreds_of_overlapping_calls_compute_each_item_exactly_once()
    {
        var proxy = new AsyncBatchingMapProxy<int, int>(batchSize: 5, maxConcurrency: 4);
        var computed = new int[200];
        var calls = Enumerable.Range(0, 300).Select(call => Task.Run(() =>
        {
            var items = Enumerable.Range(0, 20).Select(i => ((call * 7) + (i * 13)) % 200).ToArray();
            return proxy.MapAsync(items, async (batch, _) =>
            {
                foreach (var item in batch)
                {
                    Interlocked.Increment(ref computed[item]);
                }

                await Task.Yield();
                return batch.Select(i => i + 1000).ToArray();
            }).ContinueWith(t => (items, t.Result), TaskScheduler.Default);
        })).ToArray();

        foreach (var (items, outputs) in await Task.WhenAll(calls))
        {
            Assert.Equal(items.Select(i => i + 1000), outputs);
        }

        Assert.All(computed.Where(c => c > 0), count => Assert.Equal(1, count));
    }

    [Fact]
    public async Task MaxConcurrency_bounds_map_calls_across_overlapping_calls()
    {
        var proxy = new AsyncBatchingMapProxy<int, int>(batchSize: 1, maxConcurrency: 2);
        var running = 0;
        var peak = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<IReadOnlyList<int>> Tracked(IReadOnlyList<int> batch, CancellationToken ct)
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await release.Task;
            Interlocked.Decrement(ref running);
            return [.. batch];
        }

        var calls = Enumerable.Range(0, 10).Select(c => proxy.MapAsync([c * 3, (c * 3) + 1, (c * 3) + 2], Tracked)).ToArray();
        while (Volatile.Read(ref running) < 2)
        {
            await Task.Yield();
        }

        await Task.Delay(20);
        Assert.Equal(2, Volatile.Read(ref running));
        release.SetResult();
        await Task.WhenAll(calls);

        Assert.Equal(2, peak);
    }

    [Fact]
    public async Task A_wrong_number_of_outputs_fails_every_waiter_and_caches_nothing()
    {
        var proxy = new AsyncBatchingMapProxy<int, int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task<IReadOnlyList<int>> Short(IReadOnlyList<int> batch, CancellationToken ct)
        {
            await gate.Task;
            return [1];
        }

        var first = proxy.MapAsync([1, 2], Short);
        var second = proxy.MapAsync([2], Short);
        gate.SetResult();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => first);
        Assert.Contains("returned 1 outputs for 2 inputs", error.Message, StringComparison.Ordinal);
        Assert.Same(error, await Assert.ThrowsAsync<InvalidOperationException>(() => second));
        Assert.Equal(0, proxy.CachedCount);
    }

    [Fact]
    public async Task An_exception_reaches_every_waiter_and_the_next_call_retries_the_items()
    {
        var proxy = new AsyncBatchingMapProxy<string, int>();
        var gate = new TaskCompletionSource<IReadOnlyList<int>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = proxy.MapAsync(["a", "b"], (_, _) => gate.Task);
        var second = proxy.MapAsync(["b"], (_, _) => Task.FromResult<IReadOnlyList<int>>([99]));

        gate.SetException(new HttpRequestException("upstream 503"));

        await Assert.ThrowsAsync<HttpRequestException>(() => first);
        await Assert.ThrowsAsync<HttpRequestException>(() => second);
        Assert.Equal([1, 2], await proxy.MapAsync(["a", "b"], (batch, _) => Task.FromResult<IReadOnlyList<int>>([.. batch.Select(s => s[0] - 'a' + 1)])));
    }

    [Fact]
    public async Task A_synchronous_throw_from_mapFunc_reaches_the_caller()
    {
        var proxy = new AsyncBatchingMapProxy<int, int>();

        await Assert.ThrowsAsync<ArgumentException>(() => proxy.MapAsync([1], (_, _) => throw new ArgumentException("sync")));
        Assert.Equal([1], await proxy.MapAsync([1], (b, _) => Task.FromResult(b)));
    }

    [Fact]
    public async Task Cancelling_one_caller_does_not_cancel_a_batch_another_caller_waits_on()
    {
        var proxy = new AsyncBatchingMapProxy<int, int>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var batchToken = new TaskCompletionSource<CancellationToken>();
        var runs = 0;
        async Task<IReadOnlyList<int>> Slow(IReadOnlyList<int> batch, CancellationToken ct)
        {
            Interlocked.Increment(ref runs);
            batchToken.TrySetResult(ct);
            await gate.Task;
            return [.. batch];
        }

        using var leaving = new CancellationTokenSource();
        var owner = proxy.MapAsync([1, 2], Slow, leaving.Token);
        var token = await batchToken.Task;
        var other = proxy.MapAsync([2], Slow);

        await leaving.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => owner);
        Assert.False(token.IsCancellationRequested);
        gate.SetResult();
        Assert.Equal([2], await other);
        Assert.Equal(1, runs);
        Assert.Equal(2, proxy.CachedCount);
    }

    [Fact]
    public async Task When_every_waiter_cancels_the_batch_is_cancelled_and_its_items_are_released()
    {
        var proxy = new AsyncBatchingMapProxy<int, int>();
        var batchToken = new TaskCompletionSource<CancellationToken>();
        async Task<IReadOnlyList<int>> Hanging(IReadOnlyList<int> batch, CancellationToken ct)
        {
            batchToken.TrySetResult(ct);
            await Task.Delay(Timeout.Infinite, ct);
            return [.. batch];
        }

        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        var owner = proxy.MapAsync([1], Hanging, first.Token);
        var token = await batchToken.Task;
        var joiner = proxy.MapAsync([1], Hanging, second.Token);

        await first.CancelAsync();
        Assert.False(token.IsCancellationRequested);
        await second.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => owner);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => joiner);
        Assert.True(token.IsCancellationRequested);
        Assert.Equal([7], await proxy.MapAsync([1], (_, _) => Task.FromResult<IReadOnlyList<int>>([7])));
    }

    [Fact]
    public async Task Invalid_arguments_are_rejected_with_their_names()
    {
        Assert.Equal("maxConcurrency", Assert.Throws<ArgumentOutOfRangeException>(() => new AsyncBatchingMapProxy<int, int>(maxConcurrency: 0)).ParamName);
        Assert.Equal("MaxConcurrency", Assert.Throws<ArgumentOutOfRangeException>(
            () => new AsyncBatchingMapProxy<int, int>(new BatchingMapProxyOptions { MaxConcurrency = -1 })).ParamName);
        var proxy = new AsyncBatchingMapProxy<int, int>();
        Assert.Equal("items", (await Assert.ThrowsAsync<ArgumentNullException>(() => proxy.MapAsync(null!, (b, _) => Task.FromResult(b)))).ParamName);
        Assert.Equal("mapFunc", (await Assert.ThrowsAsync<ArgumentNullException>(() => proxy.MapAsync([1], null!))).ParamName);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => proxy.MapAsync([1], (b, _) => Task.FromResult(b), cancelled.Token));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
