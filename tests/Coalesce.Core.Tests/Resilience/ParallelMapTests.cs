using Coalesce.Testing;
using Polly.Timeout;

namespace Coalesce.Tests.Resilience;

public class ParallelMapTests
{
    // Items finish in reverse input order: item i starts its answer only once the items after it are recorded.
    private static (Func<int, CancellationToken, Task<int>> Fn, IProgress<ParallelMapProgress> Progress) ReverseFinisher(int count)
    {
        var recorded = Enumerable.Range(0, count + 1).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        recorded[0].SetResult();
        return (async (i, ct) =>
        {
            await recorded[count - 1 - i].Task.WaitAsync(ct);
            return i * i;
        }, new CallbackProgress(p => recorded[p.Completed].SetResult()));
    }

    [Fact]
    public async Task Ordered_results_come_back_in_input_order_whatever_order_items_finish_in()
    {
        var (fn, progress) = ReverseFinisher(6);

        var result = await ParallelMap.RunAsync(Enumerable.Range(0, 6), fn, new ParallelMapOptions { Workers = 6, Progress = progress });

        Assert.Equal([0, 1, 2, 3, 4, 5], result.Select(r => r.Index));
        Assert.Equal([0, 1, 4, 9, 16, 25], result.Values());
        Assert.True(result.AllSucceeded);
    }

    [Fact]
    public async Task Unordered_results_come_back_in_completion_order_with_their_input_index()
    {
        var (fn, progress) = ReverseFinisher(6);

        var result = await ParallelMap.RunAsync(Enumerable.Range(0, 6), fn, new ParallelMapOptions { Workers = 6, Ordered = false, Progress = progress });

        Assert.Equal([5, 4, 3, 2, 1, 0], result.Select(r => r.Index));
        Assert.All(result, r => Assert.Equal(r.Index * r.Index, r.Value));
    }

    [Fact]
    public async Task Per_item_failures_are_reported_and_do_not_stop_the_other_items()
    {
        var result = await ParallelMap.RunAsync(
            Enumerable.Range(0, 10),
            (i, _) => i % 3 == 0 ? throw new TransientException($"item {i}") : Task.FromResult(i),
            new ParallelMapOptions { Workers = 3 });

        Assert.Equal([0, 3, 6, 9], result.Failures.Select(f => f.Index));
        Assert.All(result.Failures, f => Assert.Equal($"item {f.Index}", f.Error!.Message));
        Assert.Equal([1, 2, 4, 5, 7, 8], result.Values());
        var aggregate = Assert.Throws<AggregateException>(result.ThrowIfAnyFailed);
        Assert.Equal(4, aggregate.InnerExceptions.Count);
        Assert.Contains("4 of 10 items failed (input indices 0, 3, 6, 9)", aggregate.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_more_than_the_configured_workers_run_at_once()
    {
        var running = 0;
        var peak = 0;
        var result = await ParallelMap.RunAsync(Enumerable.Range(0, 40), async (i, _) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await Task.Yield();
            await Task.Delay(1, CancellationToken.None);
            Interlocked.Decrement(ref running);
            return i;
        }, new ParallelMapOptions { Workers = 3 });

        Assert.Equal(40, result.Count);
        Assert.InRange(peak, 2, 3);

        static void InterlockedMax(ref int target, int value)
        {
            var seen = Volatile.Read(ref target);
            while (value > seen && Interlocked.CompareExchange(ref target, value, seen) is var actual && actual != seen)
            {
                seen = actual;
            }
        }
    }

    [Fact]
    public async Task Stop_on_first_failure_cancels_running_items_and_reports_the_skipped_ones()
    {
        var started = new CallRecorder<int>();
        var result = await ParallelMap.RunAsync(Enumerable.Range(0, 20), async (i, ct) =>
        {
            started.Record(i);
            if (i == 1)
            {
                await started.WaitForAsync(2);
                throw new TransientException("fatal");
            }

            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return i;
        }, new ParallelMapOptions { Workers = 2, StopOnFirstFailure = true });

        Assert.Equal(20, result.Count);
        Assert.Equal(20, result.Failures.Count);
        Assert.IsType<TransientException>(result[1].Error);
        Assert.All(result.Where(r => r.Index != 1), r => Assert.IsAssignableFrom<OperationCanceledException>(r.Error));
        Assert.Equal(2, started.Count);
        Assert.Contains("item 1 failed", result[19].Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_item_over_its_timeout_fails_with_a_timeout_while_the_others_finish()
    {
        var time = new ManualTimeProvider();
        var seen = new CallRecorder<int>();
        var run = ParallelMap.RunAsync(Enumerable.Range(0, 3), async (i, ct) =>
        {
            if (i == 1)
            {
                seen.Record(i);
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }

            return i;
        }, new ParallelMapOptions { ItemTimeout = TimeSpan.FromSeconds(30), TimeProvider = time, Progress = new CallbackProgress(p => seen.Record(-1)) });

        // Items 0 and 2 are recorded and item 1 is waiting: only item 1's timeout is left armed.
        await seen.WaitForAsync(3);
        while (time.PendingTimers != 1)
        {
            await Task.Delay(1);
        }

        time.Advance(TimeSpan.FromSeconds(30));
        var result = await run;

        Assert.IsType<TimeoutRejectedException>(Assert.Single(result.Failures).Error);
        Assert.Equal(1, result.Failures[0].Index);
        Assert.Equal([0, 2], result.Values());
    }

    [Fact]
    public async Task Each_item_gets_the_per_item_resilience()
    {
        var attempts = new int[4];
        var result = await ParallelMap.RunAsync(Enumerable.Range(0, 4), (i, _) =>
            Interlocked.Increment(ref attempts[i]) < 3 ? throw new TransientException("flaky") : Task.FromResult(i),
            new ParallelMapOptions { Resilience = new ResilienceOptions { Retries = 2, MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero } });

        Assert.True(result.AllSucceeded);
        Assert.Equal([3, 3, 3, 3], attempts);
    }

    [Fact]
    public async Task An_item_that_exhausts_its_retries_reports_all_its_attempts()
    {
        var result = await ParallelMap.RunAsync(new[] { "a" }, (item, _) => Task.FromException<int>(new TransientException(item)),
            new ParallelMapOptions { Resilience = new ResilienceOptions { Retries = 1, MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero } });

        var error = Assert.IsType<AllAttemptsFailedException>(Assert.Single(result.Failures).Error);
        Assert.Equal(2, error.Errors.Count);
    }

    [Fact]
    public async Task Progress_is_reported_once_per_item_with_running_totals()
    {
        var reports = new List<ParallelMapProgress>();
        var progress = new SynchronousProgress(reports);

        await ParallelMap.RunAsync(Enumerable.Range(0, 5), (i, _) => i == 2 ? throw new TransientException("x") : Task.FromResult(i),
            new ParallelMapOptions { Workers = 2, Progress = progress });

        Assert.Equal([1, 2, 3, 4, 5], reports.Select(r => r.Completed));
        Assert.All(reports, r => Assert.Equal(5, r.Total));
        Assert.Equal(new ParallelMapProgress(5, 1, 5), reports[^1]);
        Assert.Equal(4, reports[^1].Succeeded);
    }

    [Fact]
    public async Task Cancelling_the_run_throws_operation_canceled()
    {
        using var cts = new CancellationTokenSource();
        var run = ParallelMap.RunAsync(Enumerable.Range(0, 10), async (i, ct) =>
        {
            await cts.CancelAsync();
            await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            return i;
        }, cancellationToken: cts.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
    }

    [Fact]
    public async Task Synchronous_cpu_bound_work_runs_on_the_thread_pool()
    {
        var result = await ParallelMap.RunAsync(Enumerable.Range(0, 8), i =>
        {
            Assert.True(Thread.CurrentThread.IsThreadPoolThread);
            return Enumerable.Range(0, 1000).Sum() + i;
        }, new ParallelMapOptions { Workers = 2 });

        Assert.Equal(Enumerable.Range(0, 8).Select(i => 499_500 + i), result.Values());
    }

    [Fact]
    public async Task An_empty_input_gives_an_empty_result()
    {
        var result = await ParallelMap.RunAsync(Array.Empty<int>(), (i, _) => Task.FromResult(i));

        Assert.Empty(result);
        Assert.True(result.AllSucceeded);
    }

    private sealed class SynchronousProgress(List<ParallelMapProgress> reports) : IProgress<ParallelMapProgress>
    {
        public void Report(ParallelMapProgress value) => reports.Add(value);
    }

    private sealed class CallbackProgress(Action<ParallelMapProgress> report) : IProgress<ParallelMapProgress>
    {
        public void Report(ParallelMapProgress value) => report(value);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10_001)]
    public void Parallel_map_workers_out_of_range_are_rejected(int workers)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(new ParallelMapOptions { Workers = workers }.Validate);

        Assert.Equal("Workers", error.ParamName);
        Assert.Contains("between 1 and 10,000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parallel_map_validates_its_per_item_resilience_too()
    {
        var options = new ParallelMapOptions { Resilience = new ResilienceOptions { RateLimit = 0 } };

        var error = Assert.Throws<ArgumentOutOfRangeException>(options.Validate);

        Assert.Equal("RateLimit", error.ParamName);
    }
}
