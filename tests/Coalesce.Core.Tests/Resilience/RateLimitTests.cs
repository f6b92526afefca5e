using System.Threading.RateLimiting;
using Coalesce.Resilience;
using Coalesce.Testing;
using Microsoft.Extensions.Logging.Testing;
using Polly;
using Polly.RateLimiting;

namespace Coalesce.Tests.Resilience;

public class RateLimitTests
{
    private readonly ManualTimeProvider _time = new();

    private ResilienceOptions Options(double rate, RateLimitScope scope = RateLimitScope.PerFunction) => new()
    {
        Retries = 0,
        RateLimit = rate,
        RateLimitScope = scope,
        TimeProvider = _time,
    };

    private static Task<int>[] StartConcurrently(int count, Func<int, Task<int>> call) =>
        [.. Enumerable.Range(0, count).Select(i => Task.Run(() => call(i)))];

    [Fact]
    public async Task Admits_the_rate_per_window_under_concurrency_and_queues_the_rest()
    {
        var calls = new CallRecorder<int>();
        var fn = Resilient.Wrap<int, int>((i, _) => { calls.Record(i); return Task.FromResult(i); }, Options(rate: 5));

        var running = StartConcurrently(12, i => fn(i, CancellationToken.None));
        await calls.WaitForAsync(5);
        await _time.WaitForTimersAsync(1);
        Assert.Equal(5, calls.Count);

        _time.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1));
        Assert.Equal(5, calls.Count);
        _time.Advance(TimeSpan.FromTicks(1));
        await calls.WaitForAsync(10);
        Assert.Equal(10, calls.Count);

        _time.Advance(TimeSpan.FromSeconds(1));
        await Task.WhenAll(running);
        Assert.Equal(12, calls.Count);
        Assert.Equal(0, _time.PendingTimers);
    }

    [Theory]
    [InlineData(2.5, 2, 800)]
    [InlineData(0.5, 1, 2000)]
    [InlineData(10, 10, 1000)]
    public void A_rate_becomes_whole_permits_per_window_with_the_same_average(double rate, int permits, double windowMs)
    {
        using var limiter = new WindowRateLimiter(rate, 0, _time);

        Assert.Equal(permits, limiter.PermitsPerWindow);
        Assert.Equal(windowMs, limiter.Window.TotalMilliseconds, precision: 6);
        var granted = Enumerable.Range(0, permits + 3).Count(_ => limiter.AttemptAcquire().IsAcquired);
        Assert.Equal(permits, granted);
        _time.Advance(limiter.Window);
        Assert.True(limiter.AttemptAcquire().IsAcquired);
    }

    [Fact]
    public async Task Wrappers_with_the_same_global_name_in_one_registry_share_one_limit_on_its_clock()
    {
        using var registry = new RateLimitRegistry(_time);
        using var otherRegistry = new RateLimitRegistry(_time);
        var calls = new CallRecorder<string>();
        var first = Resilient.Wrap<int>(_ => { calls.Record("first"); return Task.FromResult(1); }, Global(registry));
        var second = Resilient.Wrap<int>(_ => { calls.Record("second"); return Task.FromResult(2); }, Global(registry));
        var elsewhere = Resilient.Wrap<int>(_ => { calls.Record("elsewhere"); return Task.FromResult(3); }, Global(otherRegistry));

        await first(CancellationToken.None);
        await second(CancellationToken.None);
        var waiting = second(CancellationToken.None);
        await _time.WaitForTimersAsync(1);

        Assert.False(waiting.IsCompleted);
        Assert.Equal(3, await elsewhere(CancellationToken.None));
        Assert.Equal(["first", "second", "elsewhere"], calls.Calls);
        Assert.Equal(["shared"], registry.Names);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await waiting);

        ResilienceOptions Global(RateLimitRegistry owner)
        {
            var options = Options(2, RateLimitScope.Global);
            options.RateLimitName = "shared";
            options.RateLimitRegistry = owner;
            options.TimeProvider = TimeProvider.System;
            return options;
        }
    }

    [Fact]
    public void A_global_limit_reused_with_another_rate_is_a_clear_error()
    {
        using var registry = new RateLimitRegistry(_time);
        _ = Resilient.Wrap<int>(_ => Task.FromResult(1), new ResilienceOptions { RateLimit = 2, RateLimitScope = RateLimitScope.Global, RateLimitName = "api", RateLimitRegistry = registry });

        var error = Assert.Throws<ArgumentException>(() =>
            Resilient.Wrap<int>(_ => Task.FromResult(1), new ResilienceOptions { RateLimit = 3, RateLimitScope = RateLimitScope.Global, RateLimitName = "api", RateLimitRegistry = registry }));

        Assert.Contains("'api'", error.Message, StringComparison.Ordinal);
        Assert.Contains("RateLimit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_argument_has_its_own_limit_in_the_per_argument_scope()
    {
        var calls = new CallRecorder<string>();
        var fn = Resilient.Wrap<string, string>((endpoint, _) => { calls.Record(endpoint); return Task.FromResult(endpoint); }, Options(1, RateLimitScope.PerArgument));

        await fn("a", CancellationToken.None);
        await fn("b", CancellationToken.None);
        var secondA = fn("a", CancellationToken.None);
        await _time.WaitForTimersAsync(1);

        Assert.Equal(["a", "b"], calls.Calls);
        Assert.False(secondA.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("a", await secondA);
    }

    [Fact]
    public async Task A_full_wait_queue_rejects_the_call_without_running_it()
    {
        var options = Options(1);
        options.RateLimitQueueLimit = 1;
        options.Name = $"limited-{Guid.NewGuid():N}";
        var logger = new FakeLogger();
        options.Logger = logger;
        using var counters = new ResilienceCounters(options.Name);
        options.MeterFactory = counters.Factory;
        var calls = 0;
        var fn = Resilient.Wrap<int>(_ => Task.FromResult(Interlocked.Increment(ref calls)), options);

        await fn(CancellationToken.None);
        var queued = fn(CancellationToken.None);
        var error = await Assert.ThrowsAsync<RateLimitRejectedException>(() => fn(CancellationToken.None));

        Assert.Contains(options.Name, error.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(1), error.RetryAfter);
        Assert.Equal(1, calls);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(2, await queued);
        Assert.Contains(logger.Collector.GetSnapshot(), e => e.Id.Id == 1303);
        Assert.Contains(logger.Collector.GetSnapshot(), e => e.Id.Id == 1304);
        Assert.Equal(2, counters["coalesce.resilience.rate_limited"]);
    }

    [Fact]
    public async Task A_caller_waiting_for_a_permit_can_cancel_and_the_call_never_runs()
    {
        var calls = 0;
        var fn = Resilient.Wrap<int>(_ => Task.FromResult(++calls), Options(1));
        await fn(CancellationToken.None);
        using var cts = new CancellationTokenSource();

        var waiting = fn(cts.Token);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Retries_of_a_call_do_not_take_more_permits()
    {
        var options = Options(1);
        options.Retries = 2;
        options.MinDelay = TimeSpan.Zero;
        options.MaxDelay = TimeSpan.Zero;
        var attempts = 0;
        var fn = Resilient.Wrap<int>(_ => ++attempts < 3 ? throw new TransientException("x") : Task.FromResult(attempts), options);

        Assert.Equal(3, await fn(CancellationToken.None));
    }

    [Fact]
    public async Task The_strategy_plugs_into_generic_and_non_generic_polly_builders()
    {
        using var limiter = new WindowRateLimiter(1, 0, _time);
        var generic = new ResiliencePipelineBuilder<string>().AddCoalesceRateLimiter(limiter, "generic").Build();
        var plain = new ResiliencePipelineBuilder().AddCoalesceRateLimiter(limiter, "plain").Build();

        Assert.Equal("ok", await generic.ExecuteAsync(_ => new ValueTask<string>("ok")));
        var rejected = await Assert.ThrowsAsync<RateLimiterRejectedException>(async () => await plain.ExecuteAsync(_ => new ValueTask<int>(1)));
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.RetryAfter);
        Assert.Contains("plain", rejected.ToCoalesce("plain").Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_strategy_can_pick_a_limiter_per_execution()
    {
        var key = new ResiliencePropertyKey<string>("partition");
        using var a = new WindowRateLimiter(1, 0, _time);
        using var b = new WindowRateLimiter(1, 0, _time);
        var pipeline = new ResiliencePipelineBuilder()
            .AddCoalesceRateLimiter(context => context.Properties.GetValue(key, "a") == "a" ? a : b, "partitioned")
            .Build();

        async Task<bool> Run(string partition)
        {
            var context = ResilienceContextPool.Shared.Get();
            context.Properties.Set(key, partition);
            try
            {
                await pipeline.ExecuteAsync(_ => ValueTask.CompletedTask, context);
                return true;
            }
            catch (RateLimiterRejectedException)
            {
                return false;
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        Assert.True(await Run("a"));
        Assert.True(await Run("b"));
        Assert.False(await Run("a"));
    }

    [Fact]
    public async Task Idle_per_argument_limiters_are_swept_so_memory_stays_bounded()
    {
        var limiters = RateLimiters.Create(Options(1, RateLimitScope.PerArgument));
        for (var i = 0; i < 1000; i++)
        {
            using var lease = await limiters.For($"old-{i}").AcquireAsync();
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        for (var i = 0; i < 30; i++)
        {
            limiters.For($"new-{i}");
        }

        Assert.InRange(limiters.PerArgumentCount, 1, 1025);
    }

    [Fact]
    public async Task Queued_callers_are_served_oldest_first_and_a_cancelled_one_gives_up_its_place()
    {
        using var limiter = new WindowRateLimiter(1, 10, _time);
        using var first = limiter.AttemptAcquire();
        using var cts = new CancellationTokenSource();
        var served = new List<string>();

        async Task Wait(string name, CancellationToken token)
        {
            using var lease = await limiter.AcquireAsync(1, token);
            Assert.True(lease.IsAcquired);
            lock (served)
            {
                served.Add(name);
            }
        }

        var a = Wait("a", CancellationToken.None);
        var b = Wait("b", cts.Token);
        var c = Wait("c", CancellationToken.None);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);
        Assert.Equal(2, limiter.GetStatistics()!.CurrentQueuedCount);

        _time.Advance(TimeSpan.FromSeconds(1));
        await a;
        Assert.Equal(["a"], served);
        _time.Advance(TimeSpan.FromSeconds(1));
        await c;
        Assert.Equal(["a", "c"], served);
        Assert.Equal(0, _time.PendingTimers);
    }

    [Fact]
    public void A_per_argument_limit_on_a_function_without_arguments_is_a_clear_error()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Resilient.Wrap<int>(_ => Task.FromResult(1), new ResilienceOptions { RateLimit = 1, RateLimitScope = RateLimitScope.PerArgument }));

        Assert.Contains("PerArgument", error.Message, StringComparison.Ordinal);
    }
}
