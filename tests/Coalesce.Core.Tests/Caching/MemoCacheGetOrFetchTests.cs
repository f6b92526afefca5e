using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

public sealed class MemoCacheGetOrFetchTests
{
    [Fact]
    public async Task Concurrent_misses_run_the_fetcher_once_and_share_its_result()
    {
        using var cache = new MemoCache();
        var gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Task<string> Fetch(CancellationToken _)
        {
            Interlocked.Increment(ref runs);
            return gate.Task;
        }

        var callers = Enumerable.Range(0, 300).Select(_ => Task.Run(() => cache.GetOrFetchAsync("k", Fetch).AsTask())).ToArray();
        while (Volatile.Read(ref runs) == 0)
        {
            await Task.Yield();
        }

        gate.SetResult("value");
        var results = await Task.WhenAll(callers);

        Assert.Equal(1, runs);
        Assert.All(results, r => Assert.Equal("value", r));
        Assert.Equal("value", await cache.GetAsync<string>("k"));
    }

    [Fact]
    public async Task A_hit_does_not_call_the_fetcher()
    {
        using var cache = new MemoCache();
        await cache.SetAsync("k", 7);

        Assert.Equal(7, await cache.GetOrFetchAsync<int>("k", _ => throw new InvalidOperationException("must not run")));
    }

    [Fact]
    public async Task A_failing_fetcher_stores_nothing_and_every_waiter_sees_its_exception()
    {
        using var cache = new MemoCache();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, 50).Select(_ => cache.GetOrFetchAsync("k", _ => gate.Task).AsTask()).ToArray();

        gate.SetException(new TimeoutException("database down"));

        foreach (var caller in callers)
        {
            var error = await Assert.ThrowsAsync<TimeoutException>(() => caller);
            Assert.Equal("database down", error.Message);
        }

        Assert.False(await cache.HasAsync("k"));
        Assert.Equal(5, await cache.GetOrFetchAsync("k", _ => Task.FromResult(5)));
    }

    [Fact]
    public async Task Cancelling_one_caller_ends_its_wait_but_not_the_fetch_others_wait_on()
    {
        using var cache = new MemoCache();
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken fetchToken = default;
        using var leaving = new CancellationTokenSource();
        var first = cache.GetOrFetchAsync("k", ct => { fetchToken = ct; return gate.Task; }, ct: leaving.Token).AsTask();
        var second = cache.GetOrFetchAsync("k", _ => gate.Task).AsTask();

        await leaving.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        Assert.False(fetchToken.IsCancellationRequested);
        gate.SetResult(9);
        Assert.Equal(9, await second);
        Assert.Equal(9, await cache.GetAsync<int>("k"));
    }

    [Fact]
    public async Task Fetching_a_key_that_holds_another_type_is_a_clear_InvalidOperationException()
    {
        using var cache = new MemoCache();
        await cache.SetAsync("k", 1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () => await cache.GetOrFetchAsync("k", _ => Task.FromResult("text")));

        Assert.Contains("'k'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_null_tag_is_rejected_before_the_fetcher_runs()
    {
        using var cache = new MemoCache();
        var ran = false;

        await Assert.ThrowsAsync<ArgumentNullException>(async () =>
            await cache.GetOrFetchAsync("k", _ => { ran = true; return Task.FromResult(1); }, tags: [null!]));

        Assert.False(ran);
    }

    [Fact]
    public async Task A_fetched_value_is_stored_with_the_given_ttl_and_tags()
    {
        var time = new ManualTimeProvider();
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = time });

        await cache.GetOrFetchAsync("k", _ => Task.FromResult("v"), TimeSpan.FromSeconds(5), ["tag"]);

        Assert.Equal(["tag"], Assert.Single(cache.Entries()).Tags);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(await cache.HasAsync("k"));
    }
}
