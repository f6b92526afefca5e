using Coalesce.Testing;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Coalesce.Tests.Caching;

/// <summary>
/// GetOrFetchAsync with stale windows: stale-while-revalidate with one background refresh per key, stale-if-error,
/// the soft timeout, and invalidation winning over all of them.
/// </summary>
public sealed class MemoCacheStaleServingTests : IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly MemoCache _cache;

    public MemoCacheStaleServingTests()
    {
        _cache = new MemoCache(new MemoCacheOptions { TimeProvider = _time });
    }

    public void Dispose() => _cache.Dispose();

    [Fact]
    public async Task A_fresh_entry_is_returned_without_fetching()
    {
        await _cache.SetAsync("k", "v", Revalidating());
        var runs = 0;

        var value = await _cache.GetOrFetchAsync("k", _ => Task.FromResult($"run {++runs}"), Revalidating());

        Assert.Equal(("v", 0), (value, runs));
    }

    [Fact]
    public async Task Two_hundred_callers_of_a_stale_key_get_the_stale_value_at_once_and_start_exactly_one_refresh()
    {
        await _cache.SetAsync("k", "old", Revalidating());
        _time.Advance(Ttl + TimeSpan.FromSeconds(1));
        var refresh = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Func<CancellationToken, Task<string>> fetcher = _ =>
        {
            Interlocked.Increment(ref runs);
            return refresh.Task;
        };
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, 200)
            .Select(_ => Task.Run(async () =>
            {
                await start.Task;
                return await _cache.GetOrFetchAsync("k", fetcher, Revalidating());
            }))
            .ToArray();

        start.SetResult();
        var values = await Task.WhenAll(callers);

        Assert.All(values, v => Assert.Equal("old", v));
        Assert.Equal(1, runs);
        var stats = _cache.GetStats();
        Assert.Equal((200, 1, 0), (stats.StaleWhileRevalidateHits, stats.Refreshes, stats.RefreshFailures));

        var stored = NextSet("k");
        refresh.SetResult("new");
        await stored;

        Assert.Equal("new", await _cache.GetOrFetchAsync("k", fetcher, Revalidating()));
        Assert.True(_cache.TryGetEntry<string>("k", out _, out var freshness));
        Assert.True(freshness.IsFresh);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task The_refreshed_entry_carries_the_new_ttl_and_windows()
    {
        await _cache.SetAsync("k", "old", Revalidating());
        _time.Advance(Ttl);
        var stored = NextSet("k");
        await _cache.GetOrFetchAsync("k", _ => Task.FromResult("new"), new CacheEntryOptions { Ttl = TimeSpan.FromSeconds(1), StaleIfError = TimeSpan.FromSeconds(5) });
        await stored;

        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(_cache.TryGetEntry<string>("k", out var value, out var freshness));
        Assert.Equal(("new", false, false, true), (value, freshness.IsFresh, freshness.CanRevalidate, freshness.CanServeOnError));
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_stale_entry_and_is_counted_and_reported()
    {
        await _cache.SetAsync("k", "old", Revalidating());
        _time.Advance(Ttl);
        var failures = new List<CacheRefreshFailedEventArgs>();
        var reported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _cache.RefreshFailed += (_, e) => { failures.Add(e); reported.TrySetResult(); };
        _cache.RefreshFailed += (_, _) => throw new InvalidOperationException("a subscriber's failure is ignored");

        var value = await _cache.GetOrFetchAsync<string>("k", _ => throw new TimeoutException("database down"), Revalidating());
        await reported.Task;

        Assert.Equal("old", value);
        var failure = Assert.Single(failures);
        Assert.Equal("k", failure.Key);
        Assert.Equal("database down", Assert.IsType<TimeoutException>(failure.Exception).Message);
        Assert.Equal((1, 1), (_cache.GetStats().Refreshes, _cache.GetStats().RefreshFailures));
        Assert.True(_cache.TryGetEntry<string>("k", out var kept, out _));
        Assert.Equal("old", kept);

        // The next caller gets the stale value again and tries once more.
        Assert.Equal("old", await _cache.GetOrFetchAsync("k", _ => Task.FromResult("new"), Revalidating()));
    }

    [Fact]
    public async Task The_refresh_outlives_its_callers_token_and_ends_with_the_cache()
    {
        await _cache.SetAsync("k", "old", Revalidating());
        _time.Advance(Ttl);
        var started = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var caller = new CancellationTokenSource();

        Assert.Equal("old", await _cache.GetOrFetchAsync("k", async token =>
        {
            started.SetResult(token);
            await Task.Delay(Timeout.Infinite, token);
            return "never";
        }, Revalidating(), caller.Token));
        var refreshToken = await started.Task;
        await caller.CancelAsync();

        Assert.False(refreshToken.IsCancellationRequested);
        _cache.Dispose();
        Assert.True(refreshToken.IsCancellationRequested);
        Assert.Equal(0, _cache.GetStats().RefreshFailures);
    }

    [Fact]
    public async Task A_foreground_fetch_joins_a_refresh_in_progress_instead_of_running_again()
    {
        await _cache.SetAsync("k", "old", new CacheEntryOptions { Ttl = Ttl, StaleWhileRevalidate = TimeSpan.FromSeconds(5), StaleIfError = TimeSpan.FromMinutes(1) });
        _time.Advance(Ttl);
        var refresh = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Func<CancellationToken, Task<string>> fetcher = _ =>
        {
            runs++;
            return refresh.Task;
        };
        Assert.Equal("old", await _cache.GetOrFetchAsync("k", fetcher, Revalidating()));

        // Past the revalidate window, inside stale-if-error: this caller fetches in the foreground, and joins the refresh.
        _time.Advance(TimeSpan.FromSeconds(5));
        var foreground = _cache.GetOrFetchAsync("k", fetcher, Revalidating()).AsTask();
        refresh.SetResult("new");

        Assert.Equal("new", await foreground);
        Assert.Equal(1, runs);
    }

    [Fact]
    public async Task Inside_its_stale_if_error_window_a_failed_fetch_returns_the_stale_value()
    {
        await _cache.SetAsync("k", "old", FailSafe());
        _time.Advance(Ttl + TimeSpan.FromSeconds(59));

        var value = await _cache.GetOrFetchAsync<string>("k", _ => throw new HttpRequestException("503"), FailSafe());

        Assert.Equal("old", value);
        Assert.Equal(1, _cache.GetStats().StaleIfErrorHits);
    }

    [Fact]
    public async Task Every_caller_of_a_failing_flight_gets_the_stale_value()
    {
        await _cache.SetAsync("k", "old", FailSafe());
        _time.Advance(Ttl);
        var fetch = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        Func<CancellationToken, Task<string>> fetcher = _ =>
        {
            runs++;
            return fetch.Task;
        };
        var callers = Enumerable.Range(0, 5).Select(_ => _cache.GetOrFetchAsync("k", fetcher, FailSafe()).AsTask()).ToArray();

        fetch.SetException(new InvalidOperationException("down"));

        Assert.All(await Task.WhenAll(callers), v => Assert.Equal("old", v));
        Assert.Equal((1, 5), (runs, _cache.GetStats().StaleIfErrorHits));
    }

    [Fact]
    public async Task Past_its_stale_if_error_window_the_error_goes_through()
    {
        await _cache.SetAsync("k", "old", FailSafe());
        _time.Advance(Ttl + TimeSpan.FromMinutes(1));

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await _cache.GetOrFetchAsync<string>("k", _ => throw new InvalidOperationException("down"), FailSafe()));
        Assert.Equal(0, _cache.GetStats().StaleIfErrorHits);
    }

    [Fact]
    public async Task The_callers_own_cancellation_is_not_an_error()
    {
        await _cache.SetAsync("k", "old", FailSafe());
        _time.Advance(Ttl);
        using var caller = new CancellationTokenSource();
        var pending = _cache.GetOrFetchAsync("k", token => Task.Delay(Timeout.Infinite, token).ContinueWith(_ => "never", TaskScheduler.Default), FailSafe(), caller.Token).AsTask();

        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.Equal(0, _cache.GetStats().StaleIfErrorHits);
    }

    [Fact]
    public async Task A_fetch_slower_than_the_soft_timeout_returns_the_stale_value_and_its_late_value_lands()
    {
        var options = FailSafe(softTimeout: TimeSpan.FromSeconds(2));
        await _cache.SetAsync("k", "old", options);
        _time.Advance(Ttl);
        var fetch = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        CancellationToken fetchToken = default;
        using var caller = new CancellationTokenSource();
        var pending = _cache.GetOrFetchAsync("k", token => { fetchToken = token; return fetch.Task; }, options, caller.Token).AsTask();
        await _time.WaitForTimersAsync();

        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal("old", await pending);
        Assert.Equal(1, _cache.GetStats().SoftTimeoutHits);

        // The caller going away does not take the fetch down: it completes and stores its result.
        await caller.CancelAsync();
        Assert.False(fetchToken.IsCancellationRequested);
        var stored = NextSet("k");
        fetch.SetResult("new");
        await stored;
        Assert.True(_cache.TryGet<string>("k", out var late));
        Assert.Equal("new", late);
    }

    [Fact]
    public async Task A_fetch_within_the_soft_timeout_returns_its_own_value()
    {
        var options = FailSafe(softTimeout: TimeSpan.FromSeconds(2));
        await _cache.SetAsync("k", "old", options);
        _time.Advance(Ttl);
        var fetch = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = _cache.GetOrFetchAsync("k", _ => fetch.Task, options).AsTask();
        await _time.WaitForTimersAsync();

        _time.Advance(TimeSpan.FromSeconds(1));
        fetch.SetResult("new");

        Assert.Equal("new", await pending);
        Assert.Equal(0, _cache.GetStats().SoftTimeoutHits);
    }

    [Fact]
    public async Task Without_a_stale_value_the_soft_timeout_does_not_apply()
    {
        var fetch = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = _cache.GetOrFetchAsync("k", _ => fetch.Task, FailSafe(softTimeout: TimeSpan.FromSeconds(1))).AsTask();

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.False(pending.IsCompleted);
        fetch.SetResult("v");

        Assert.Equal("v", await pending);
    }

    [Theory]
    [InlineData("key")]
    [InlineData("tag")]
    [InlineData("pattern")]
    [InlineData("delete")]
    [InlineData("clear")]
    public async Task An_invalidation_during_a_refresh_keeps_the_refresh_from_storing(string how)
    {
        await _cache.SetAsync("item:1", "old", Revalidating(tags: ["items"]));
        _time.Advance(Ttl);
        var refresh = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        Assert.Equal("old", await _cache.GetOrFetchAsync("item:1", _ => refresh.Task, Revalidating(tags: ["items"])));

        await Invalidate(how, "item:1", "items");

        // A miss now joins the refresh still in flight, so awaiting it awaits the refresh's end (its store included).
        var joined = _cache.GetOrFetchAsync("item:1", _ => Task.FromResult("fetched after"), Revalidating(tags: ["items"])).AsTask();
        refresh.SetResult("read before the invalidation");
        await joined;

        Assert.False(_cache.TryGetEntry<string>("item:1", out _, out _));
        Assert.Equal(0, _cache.Count);
    }

    [Fact]
    public async Task An_invalidation_during_a_fetch_keeps_the_fetch_from_storing_but_its_callers_get_the_value()
    {
        var fetch = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = _cache.GetOrFetchAsync("k", _ => fetch.Task, tags: ["t"]).AsTask();

        await _cache.InvalidateByTagAsync("t");
        fetch.SetResult(1);

        Assert.Equal(1, await pending);
        Assert.False(await _cache.HasAsync("k"));
    }

    [Fact]
    public async Task An_unrelated_invalidation_during_a_fetch_does_not_stop_it_storing()
    {
        var fetch = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = _cache.GetOrFetchAsync("k", _ => fetch.Task, tags: ["t"]).AsTask();

        await _cache.InvalidateByTagAsync("other");
        await _cache.InvalidateAsync("other-key");
        await _cache.InvalidateByPatternAsync("x*");
        fetch.SetResult(1);
        await pending;

        Assert.True(await _cache.HasAsync("k"));
    }

    [Fact]
    public async Task Past_the_invalidations_it_remembers_a_fetch_does_not_store()
    {
        var fetch = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = _cache.GetOrFetchAsync("k", _ => fetch.Task).AsTask();

        for (var i = 0; i < 65; i++)
        {
            await _cache.InvalidateAsync($"other-{i}");
        }

        fetch.SetResult(1);
        await pending;

        Assert.False(await _cache.HasAsync("k"));
    }

    [Fact]
    public async Task An_invalidated_entry_is_never_served_stale_on_error()
    {
        await _cache.SetAsync("k", "old", FailSafe(tags: ["t"]));
        _time.Advance(Ttl);

        await _cache.InvalidateByTagAsync("t");

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await _cache.GetOrFetchAsync<string>("k", _ => throw new InvalidOperationException("down"), FailSafe()));
    }

    [Fact]
    public async Task An_entry_invalidated_while_its_fetch_runs_is_not_served_when_the_fetch_fails()
    {
        await _cache.SetAsync("k", "old", FailSafe(tags: ["t"]));
        _time.Advance(Ttl);
        var fetch = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = _cache.GetOrFetchAsync("k", _ => fetch.Task, FailSafe()).AsTask();

        await _cache.InvalidateByTagAsync("t");
        fetch.SetException(new InvalidOperationException("down"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => pending);
    }

    [Fact]
    public async Task An_invalidated_entry_is_never_served_while_revalidating()
    {
        await _cache.SetAsync("k", "old", Revalidating());
        _time.Advance(Ttl);
        await _cache.InvalidateAsync("k");

        Assert.Equal("new", await _cache.GetOrFetchAsync("k", _ => Task.FromResult("new"), Revalidating()));
        Assert.Equal(0, _cache.GetStats().StaleWhileRevalidateHits);
    }

    [Fact]
    public async Task Entries_without_windows_behave_as_before()
    {
        await _cache.SetAsync("k", "old", new CacheEntryOptions { Ttl = Ttl });
        _time.Advance(Ttl);

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await _cache.GetOrFetchAsync<string>("k", _ => throw new InvalidOperationException("down"), FailSafe()));
        Assert.Equal("new", await _cache.GetOrFetchAsync("k", _ => Task.FromResult("new"), FailSafe()));
    }

    [Fact]
    public async Task Windows_without_any_ttl_are_kept_as_a_plain_entry_that_never_expires()
    {
        await _cache.SetAsync("k", "v", new CacheEntryOptions { StaleIfError = TimeSpan.FromMinutes(1) });
        _time.Advance(TimeSpan.FromDays(1));

        Assert.True(_cache.TryGet<string>("k", out _));
    }

    [Fact]
    public async Task The_windows_follow_the_caches_default_ttl()
    {
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = _time, DefaultTtl = Ttl });
        await cache.SetAsync("k", "old", new CacheEntryOptions { StaleIfError = TimeSpan.FromMinutes(1) });
        _time.Advance(Ttl);

        Assert.Equal("old", await cache.GetOrFetchAsync<string>("k", _ => throw new InvalidOperationException(), new CacheEntryOptions()));
    }

    [Theory]
    [InlineData("Ttl")]
    [InlineData("StaleWhileRevalidate")]
    [InlineData("StaleIfError")]
    [InlineData("SoftTimeout")]
    public async Task Out_of_range_options_are_rejected_by_name(string option)
    {
        var options = option switch
        {
            "Ttl" => new CacheEntryOptions { Ttl = TimeSpan.Zero },
            "StaleWhileRevalidate" => new CacheEntryOptions { StaleWhileRevalidate = TimeSpan.FromSeconds(-1) },
            "StaleIfError" => new CacheEntryOptions { StaleIfError = TimeSpan.FromSeconds(-1) },
            _ => new CacheEntryOptions { SoftTimeout = TimeSpan.Zero },
        };

        var fetch = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await _cache.GetOrFetchAsync("k", _ => Task.FromResult(1), options));
        var set = await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await _cache.SetAsync("k", 1, options));

        Assert.Equal(option, fetch.ParamName);
        Assert.Contains($"CacheEntryOptions.{option}", fetch.Message, StringComparison.Ordinal);
        Assert.Equal(option, set.ParamName);
    }

    [Fact]
    public async Task Huge_windows_do_not_overflow()
    {
        var options = new CacheEntryOptions { Ttl = TimeSpan.MaxValue, StaleWhileRevalidate = TimeSpan.MaxValue, StaleIfError = TimeSpan.MaxValue };
        await _cache.SetAsync("k", "v", options);

        Assert.Equal("v", await _cache.GetOrFetchAsync("k", _ => Task.FromResult("new"), options));
    }

    [Fact]
    public async Task Stale_hits_and_refreshes_are_published_on_the_Coalesce_meter()
    {
        using var meters = new TestMeterFactory();
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = _time, MeterFactory = meters, Name = "stale" });
        using var staleHits = new MetricCollector<long>(meters, "Coalesce", "coalesce.cache.stale_hits");
        using var refreshes = new MetricCollector<long>(meters, "Coalesce", "coalesce.cache.refreshes");
        using var failures = new MetricCollector<long>(meters, "Coalesce", "coalesce.cache.refresh_failures");
        var reported = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cache.RefreshFailed += (_, _) => reported.SetResult();
        await cache.SetAsync("k", "old", new CacheEntryOptions { Ttl = Ttl, StaleWhileRevalidate = TimeSpan.FromSeconds(5), StaleIfError = TimeSpan.FromMinutes(1) });
        _time.Advance(Ttl);
        await cache.GetOrFetchAsync<string>("k", _ => throw new InvalidOperationException(), new CacheEntryOptions());
        await reported.Task;
        _time.Advance(TimeSpan.FromSeconds(5));
        await cache.GetOrFetchAsync<string>("k", _ => throw new InvalidOperationException(), new CacheEntryOptions());

        staleHits.RecordObservableInstruments();
        refreshes.RecordObservableInstruments();
        failures.RecordObservableInstruments();

        var byReason = staleHits.GetMeasurementSnapshot().ToDictionary(m => (string)m.Tags["coalesce.cache.stale_reason"]!, m => m.Value);
        Assert.Equal(new Dictionary<string, long> { ["revalidating"] = 1, ["error"] = 1, ["timeout"] = 0 }, byReason);
        Assert.All(staleHits.GetMeasurementSnapshot(), m => Assert.Equal("stale", m.Tags["coalesce.cache.name"]));
        Assert.Equal(1, refreshes.LastMeasurement!.Value);
        Assert.Equal(1, failures.LastMeasurement!.Value);
    }

    [Fact]
    public async Task ResetStats_clears_the_stale_figures()
    {
        await _cache.SetAsync("k", "old", Revalidating());
        _time.Advance(Ttl);
        await _cache.GetOrFetchAsync("k", _ => Task.FromResult("new"), Revalidating());

        _cache.ResetStats();

        var stats = _cache.GetStats();
        Assert.Equal((0, 0, 0), (stats.StaleWhileRevalidateHits, stats.Refreshes, stats.RefreshFailures));
    }

    private static CacheEntryOptions Revalidating(IReadOnlyList<string>? tags = null) =>
        new() { Ttl = Ttl, StaleWhileRevalidate = TimeSpan.FromMinutes(1), Tags = tags };

    private static CacheEntryOptions FailSafe(TimeSpan? softTimeout = null, IReadOnlyList<string>? tags = null) =>
        new() { Ttl = Ttl, StaleIfError = TimeSpan.FromMinutes(1), SoftTimeout = softTimeout, Tags = tags };

    private Task NextSet(string key)
    {
        var set = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _cache.Set += (_, e) =>
        {
            if (e.Key == key)
            {
                set.TrySetResult();
            }
        };
        return set.Task;
    }

    private async Task Invalidate(string how, string key, string tag)
    {
        switch (how)
        {
            case "key": await _cache.InvalidateAsync(key); break;
            case "tag": await _cache.InvalidateByTagAsync(tag); break;
            case "pattern": await _cache.InvalidateByPatternAsync("item:*"); break;
            case "delete": await _cache.DeleteAsync(key); break;
            default: await _cache.ClearAsync(); break;
        }
    }
}
