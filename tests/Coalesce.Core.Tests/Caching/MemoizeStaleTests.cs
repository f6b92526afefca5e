using Coalesce.Testing;

namespace Coalesce.Tests.Caching;

/// <summary>Memoized functions with stale windows and a soft timeout.</summary>
public sealed class MemoizeStaleTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly MemoCache _cache;

    public MemoizeStaleTests()
    {
        _cache = new MemoCache(new MemoCacheOptions { TimeProvider = _time });
    }

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task A_memoized_function_returns_its_stale_result_and_refreshes_it_once_in_the_background()
    {
        var version = 0;
        var refresh = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        var square = _cache.Memoize<int, string>(
            async (n, _) =>
            {
                if (Interlocked.Increment(ref runs) > 1)
                {
                    await refresh.Task;
                }

                return $"{n * n} v{++version}";
            },
            new MemoizeOptions<int> { Ttl = Ttl, StaleWhileRevalidate = TimeSpan.FromMinutes(1) });
        Assert.Equal("9 v1", await square.InvokeAsync(3));
        _time.Advance(Ttl);

        Assert.Equal("9 v1", await square.InvokeAsync(3));
        Assert.Equal("9 v1", await square.InvokeAsync(3));
        var stored = NextSet();
        refresh.SetResult();
        await stored;

        Assert.Equal("9 v2", await square.InvokeAsync(3));
        Assert.Equal(2, runs);
        Assert.Equal((2, 1), (_cache.GetStats().StaleWhileRevalidateHits, _cache.GetStats().Refreshes));
    }

    [Fact]
    public async Task A_memoized_function_that_fails_within_its_stale_if_error_window_returns_its_last_result()
    {
        var fail = false;
        var lookup = _cache.Memoize<string, int>(
            (name, _) => fail ? throw new InvalidOperationException("down") : Task.FromResult(name.Length),
            new MemoizeOptions<string> { Ttl = Ttl, StaleIfError = TimeSpan.FromMinutes(1) });
        Assert.Equal(5, await lookup.InvokeAsync("hello"));
        fail = true;
        _time.Advance(Ttl);

        Assert.Equal(5, await lookup.InvokeAsync("hello"));

        _time.Advance(TimeSpan.FromMinutes(1));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await lookup.InvokeAsync("hello"));
    }

    [Fact]
    public async Task A_memoized_function_slower_than_its_soft_timeout_returns_its_last_result()
    {
        var slow = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var lookup = _cache.Memoize<string, int>(
            (_, _) => ++calls == 1 ? Task.FromResult(1) : slow.Task,
            new MemoizeOptions<string> { Ttl = Ttl, StaleIfError = TimeSpan.FromMinutes(1), SoftTimeout = TimeSpan.FromSeconds(1) });
        await lookup.InvokeAsync("a");
        _time.Advance(Ttl);

        var pending = lookup.InvokeAsync("a").AsTask();
        await _time.WaitForTimersAsync();
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(1, await pending);
        var stored = NextSet();
        slow.SetResult(2);
        await stored;
        Assert.Equal(2, await lookup.InvokeAsync("a"));
    }

    [Fact]
    public async Task Clearing_a_memoized_function_during_its_refresh_keeps_the_refresh_from_storing()
    {
        var refresh = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var lookup = _cache.Memoize<string, int>(
            (_, _) => ++calls == 1 ? Task.FromResult(1) : refresh.Task,
            new MemoizeOptions<string> { Ttl = Ttl, StaleWhileRevalidate = TimeSpan.FromMinutes(1) });
        await lookup.InvokeAsync("a");
        _time.Advance(Ttl);
        Assert.Equal(1, await lookup.InvokeAsync("a"));

        await lookup.ClearAsync();
        var joined = lookup.InvokeAsync("a").AsTask();
        refresh.SetResult(2);
        await joined;

        Assert.Equal(0, _cache.Count);
    }

    [Fact]
    public async Task A_synchronous_memoized_function_refreshes_on_the_thread_pool_and_serves_stale_on_error()
    {
        var version = 0;
        var fail = false;
        var lookup = _cache.MemoizeSync<int, string>(
            n => fail ? throw new InvalidOperationException("down") : $"{n} v{Interlocked.Increment(ref version)}",
            new MemoizeOptions<int> { Ttl = Ttl, StaleWhileRevalidate = TimeSpan.FromSeconds(5), StaleIfError = TimeSpan.FromMinutes(1) });
        Assert.Equal("1 v1", lookup.Invoke(1));
        _time.Advance(Ttl);

        var stored = NextSet();
        Assert.Equal("1 v1", lookup.Invoke(1));
        await stored;
        Assert.Equal("1 v2", lookup.Invoke(1));

        // The refresh's flight ends just after it stores; a call that joined it would share its result.
        while (_cache.FetchesInFlight > 0)
        {
            await Task.Yield();
        }

        fail = true;
        _time.Advance(Ttl + TimeSpan.FromSeconds(5));
        Assert.Equal("1 v2", lookup.Invoke(1));
        Assert.Equal(1, _cache.GetStats().StaleIfErrorHits);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Throws<InvalidOperationException>(() => lookup.Invoke(1));
    }

    [Fact]
    public void A_synchronous_memoized_function_has_no_soft_timeout()
    {
        var options = new MemoizeOptions<int> { Ttl = Ttl, StaleIfError = TimeSpan.FromMinutes(1), SoftTimeout = TimeSpan.FromSeconds(1) };

        var error = Assert.Throws<ArgumentException>(() => _cache.MemoizeSync<int, int>(n => n, options));
        Assert.Contains("SoftTimeout", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Memoizer.MemoizeSync<int, int>(n => n, options));
    }

    [Theory]
    [InlineData("StaleWhileRevalidate")]
    [InlineData("StaleIfError")]
    [InlineData("SoftTimeout")]
    public void Out_of_range_windows_are_rejected_when_memoizing(string option)
    {
        var options = option switch
        {
            "StaleWhileRevalidate" => new MemoizeOptions<int> { StaleWhileRevalidate = TimeSpan.FromSeconds(-1) },
            "StaleIfError" => new MemoizeOptions<int> { StaleIfError = TimeSpan.FromSeconds(-1) },
            _ => new MemoizeOptions<int> { SoftTimeout = TimeSpan.FromSeconds(-1) },
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => _cache.Memoize<int, int>((n, _) => Task.FromResult(n), options));

        Assert.Equal(option, error.ParamName);
        Assert.Contains($"MemoizeOptions.{option}", error.Message, StringComparison.Ordinal);
    }

    private Task NextSet()
    {
        var set = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _cache.Set += (_, _) => set.TrySetResult();
        return set.Task;
    }
}
