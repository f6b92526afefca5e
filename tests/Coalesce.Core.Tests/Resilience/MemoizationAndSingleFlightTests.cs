using Coalesce.Testing;

namespace Coalesce.Tests.Resilience;

public class MemoizationAndSingleFlightTests
{
    [Fact]
    public async Task Results_are_memoized_under_namespace_name_and_argument_with_the_ttl()
    {
        var time = new ManualTimeProvider();
        using var cache = new MemoCache(new MemoCacheOptions { TimeProvider = time });
        var options = new ResilienceOptions { Name = "users", CacheNamespace = "app", CacheTtl = TimeSpan.FromMinutes(5), Cache = cache };
        var calls = 0;
        var fn = Resilient.Wrap<int, string>((id, _) => Task.FromResult($"user {id} #{++calls}"), options);

        Assert.Equal("user 7 #1", await fn(7, CancellationToken.None));
        Assert.Equal("user 7 #1", await fn(7, CancellationToken.None));
        Assert.Equal("user 8 #2", await fn(8, CancellationToken.None));
        Assert.Equal(["app:users|1:7", "app:users|1:8"], cache.Keys().Order());

        time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("user 7 #3", await fn(7, CancellationToken.None));
    }

    [Fact]
    public async Task A_custom_key_function_decides_which_calls_share_a_memoized_result()
    {
        using var cache = new MemoCache();
        var calls = 0;
        var fn = Resilient.Wrap<(string Tenant, int Page), int>(
            (args, _) => Task.FromResult(++calls),
            new ResilienceOptions { Name = "pages", Cache = cache },
            keyFn: args => args.Tenant);

        await fn(("acme", 1), CancellationToken.None);
        await fn(("acme", 2), CancellationToken.None);

        Assert.Equal(1, calls);
        Assert.Equal("coalesce:pages|acme", Assert.Single(cache.Keys()));
    }

    [Fact]
    public async Task Failures_are_retried_before_memoizing_and_never_memoized()
    {
        using var cache = new MemoCache();
        var options = new ResilienceOptions { Retries = 1, MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero, Cache = cache };
        var calls = 0;
        var fn = Resilient.Wrap<string, int>((_, _) => ++calls <= 2 ? throw new TransientException("x") : Task.FromResult(calls), options);

        await Assert.ThrowsAsync<AllAttemptsFailedException>(() => fn("k", CancellationToken.None));
        Assert.Equal(0, cache.Count);
        Assert.Equal(3, await fn("k", CancellationToken.None));
        Assert.Equal(3, await fn("k", CancellationToken.None));
    }

    [Fact]
    public void An_argument_type_without_exact_text_needs_a_key_function_when_a_key_is_used()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Resilient.Wrap<object, int>((_, _) => Task.FromResult(1), new ResilienceOptions { SingleFlight = new SharedCall() }));

        Assert.Equal("keyFn", error.ParamName);
    }

    [Fact]
    public void No_key_function_is_needed_when_no_feature_uses_the_key()
    {
        var fn = Resilient.Wrap<object, int>((_, _) => Task.FromResult(1), new ResilienceOptions());

        Assert.NotNull(fn);
    }

    [Fact]
    public async Task Concurrent_calls_with_the_same_argument_share_one_execution_including_its_retries()
    {
        var time = new ManualTimeProvider();
        var shared = new SharedCall();
        var options = new ResilienceOptions { SingleFlight = shared, Retries = 1, MinDelay = TimeSpan.FromSeconds(1), UseJitter = false, TimeProvider = time };
        var calls = new CallRecorder<int>();
        var fn = Resilient.Wrap<int, int>((id, _) =>
        {
            calls.Record(id);
            return calls.Count == 1 ? throw new TransientException("x") : Task.FromResult(id * 2);
        }, options);

        var callers = Enumerable.Range(0, 8).Select(_ => Task.Run(() => fn(21, CancellationToken.None))).ToArray();
        await time.WaitForTimersAsync(1);
        while (shared.GetStats().Hits < 7)
        {
            await Task.Delay(1);
        }

        var other = fn(5, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.All(await Task.WhenAll(callers), value => Assert.Equal(42, value));
        Assert.Equal(10, await other);
        Assert.Equal(2, calls.Calls.Count(id => id == 21));
        Assert.Equal(new SharedCallStats(Hits: 7, Misses: 2, Errors: 0, Active: 0), shared.GetStats());
    }

    [Fact]
    public async Task Every_waiter_of_a_shared_flight_gets_the_same_all_attempts_failed()
    {
        var gate = new TaskCompletionSource();
        var shared = new SharedCall();
        var calls = 0;
        var fn = Resilient.Wrap<int>(async _ =>
        {
            Interlocked.Increment(ref calls);
            await gate.Task;
            throw new TransientException("down");
        }, new ResilienceOptions { SingleFlight = shared, Retries = 0 });

        var first = fn(CancellationToken.None);
        var second = fn(CancellationToken.None);
        gate.SetResult();

        var a = await Assert.ThrowsAsync<AllAttemptsFailedException>(() => first);
        var b = await Assert.ThrowsAsync<AllAttemptsFailedException>(() => second);
        Assert.Same(a, b);
        Assert.Equal(1, calls);
    }
}
