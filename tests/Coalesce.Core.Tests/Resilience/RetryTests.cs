using Coalesce.Testing;
using Polly.Timeout;

namespace Coalesce.Tests.Resilience;

public class RetryTests
{
    private readonly ManualTimeProvider _time = new();

    private ResilienceOptions Options(int retries = 3) => new()
    {
        Retries = retries,
        MinDelay = TimeSpan.FromSeconds(1),
        BackoffFactor = 2,
        MaxDelay = TimeSpan.FromSeconds(3),
        UseJitter = false,
        TimeProvider = _time,
    };

    [Fact]
    public async Task Retries_wait_the_backoff_sequence_driven_by_the_time_provider()
    {
        var calls = new CallRecorder<int>();
        var fn = Resilient.Wrap<int>(ct =>
        {
            calls.Record(calls.Count);
            return calls.Count < 4 ? Task.FromException<int>(new TransientException("down")) : Task.FromResult(42);
        }, Options());

        var run = fn(CancellationToken.None);
        foreach (var (delay, callsBefore) in new[] { (1.0, 1), (2.0, 2), (3.0, 3) })
        {
            await calls.WaitForAsync(callsBefore);
            await _time.WaitForTimersAsync(1);
            _time.Advance(TimeSpan.FromSeconds(delay) - TimeSpan.FromTicks(1));
            Assert.Equal(callsBefore, calls.Count);
            Assert.Equal(1, _time.PendingTimers);
            _time.Advance(TimeSpan.FromTicks(1));
        }

        Assert.Equal(42, await run);
        Assert.Equal(4, calls.Count);
    }

    [Fact]
    public async Task Exhausted_retries_throw_all_attempts_failed_with_every_error_in_order()
    {
        var attempt = 0;
        var options = Options(retries: 2);
        options.MinDelay = TimeSpan.Zero;
        options.MaxDelay = TimeSpan.Zero;
        var fn = Resilient.Wrap<string>(_ => throw new TransientException($"failure {++attempt}"), options);

        var error = await Assert.ThrowsAsync<AllAttemptsFailedException>(() => fn(CancellationToken.None));

        Assert.Equal(["failure 1", "failure 2", "failure 3"], error.Errors.Select(e => e.Message));
        Assert.Equal(3, error.AttemptCount);
        Assert.StartsWith("All 3 attempts failed:", error.Message, StringComparison.Ordinal);
        Assert.Contains("[2] TransientException: failure 2", error.Message, StringComparison.Ordinal);
        Assert.Same(error.Errors[^1], error.InnerException);
    }

    [Fact]
    public async Task Default_options_make_four_attempts()
    {
        var options = new ResilienceOptions { MinDelay = TimeSpan.Zero, MaxDelay = TimeSpan.Zero };
        var calls = 0;
        var fn = Resilient.Wrap<int, int>((_, _) => { Interlocked.Increment(ref calls); throw new TransientException("x"); }, options);

        var error = await Assert.ThrowsAsync<AllAttemptsFailedException>(() => fn(1, CancellationToken.None));

        Assert.Equal(4, calls);
        Assert.Equal(4, error.Errors.Count);
    }

    [Fact]
    public async Task Zero_retries_make_one_attempt()
    {
        var calls = 0;
        var fn = Resilient.Wrap<int>(_ => { calls++; throw new TransientException("x"); }, Options(retries: 0));

        var error = await Assert.ThrowsAsync<AllAttemptsFailedException>(() => fn(CancellationToken.None));

        Assert.Equal(1, calls);
        Assert.Single(error.Errors);
    }

    [Fact]
    public async Task An_exception_outside_retry_on_is_thrown_as_is_without_retrying()
    {
        var calls = 0;
        var options = Options().RetryOnException<TransientException>();
        var fn = Resilient.Wrap<int>(_ => { calls++; throw new InvalidOperationException("bug"); }, options);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => fn(CancellationToken.None));

        Assert.Equal("bug", error.Message);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Registered_exception_types_include_derived_types_and_the_predicate_adds_more()
    {
        var options = Options(retries: 3);
        options.MinDelay = TimeSpan.Zero;
        options.MaxDelay = TimeSpan.Zero;
        options.RetryOnException<IOException>().RetryOn = ex => ex.Message == "retry me";
        Exception[] failures = [new FileNotFoundException("gone"), new InvalidOperationException("retry me"), new InvalidOperationException("stop")];
        var calls = 0;
        var fn = Resilient.Wrap<int>(_ => throw failures[calls++], options);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => fn(CancellationToken.None));

        Assert.Equal("stop", error.Message);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task The_callers_own_cancellation_is_never_retried()
    {
        using var cts = new CancellationTokenSource();
        var calls = 0;
        var fn = Resilient.Wrap<int>(ct =>
        {
            calls++;
            cts.Cancel();
            ct.ThrowIfCancellationRequested();
            return Task.FromResult(1);
        }, Options());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fn(cts.Token));

        Assert.Equal(1, calls);
        Assert.Equal(0, _time.PendingTimers);
    }

    [Fact]
    public async Task A_cancellation_that_is_not_the_callers_is_retried_like_any_failure()
    {
        var options = Options(retries: 1);
        options.MinDelay = TimeSpan.Zero;
        options.MaxDelay = TimeSpan.Zero;
        var calls = 0;
        var fn = Resilient.Wrap<int>(_ => ++calls == 1 ? throw new TaskCanceledException("client timeout") : Task.FromResult(5), options);

        Assert.Equal(5, await fn(CancellationToken.None));
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task Cancelling_during_a_backoff_delay_ends_the_call_at_once()
    {
        using var cts = new CancellationTokenSource();
        var calls = new CallRecorder<int>();
        var fn = Resilient.Wrap<int>(_ => { calls.Record(0); throw new TransientException("x"); }, Options());

        var run = fn(cts.Token);
        await _time.WaitForTimersAsync(1);
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.Equal(1, calls.Count);
    }

    [Fact]
    public async Task An_attempt_that_outlives_attempt_timeout_fails_with_a_timeout_and_is_retried()
    {
        var options = Options(retries: 1);
        options.AttemptTimeout = TimeSpan.FromSeconds(5);
        var calls = new CallRecorder<int>();
        var fn = Resilient.Wrap<int>(async ct =>
        {
            calls.Record(0);
            if (calls.Count == 1)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, ct);
            }

            return 9;
        }, options);

        var run = fn(CancellationToken.None);
        await calls.WaitForAsync(1);
        await _time.WaitForTimersAsync(1);
        _time.Advance(TimeSpan.FromSeconds(5));
        await _time.WaitForTimersAsync(1);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(9, await run);
        Assert.Equal(2, calls.Count);
    }

    [Fact]
    public async Task Timed_out_attempts_are_listed_as_timeouts_in_all_attempts_failed()
    {
        var options = Options(retries: 0);
        options.AttemptTimeout = TimeSpan.FromSeconds(5);
        var fn = Resilient.Wrap<int>(async ct => { await Task.Delay(Timeout.InfiniteTimeSpan, ct); return 0; }, options);

        var run = fn(CancellationToken.None);
        await _time.WaitForTimersAsync(1);
        _time.Advance(TimeSpan.FromSeconds(5));

        var error = await Assert.ThrowsAsync<AllAttemptsFailedException>(() => run);
        Assert.IsType<TimeoutRejectedException>(Assert.Single(error.Errors));
    }

    [Fact]
    public async Task Or_else_supplies_the_result_when_every_attempt_failed()
    {
        AllAttemptsFailedException? seen = null;
        var fn = Resilient.Wrap<int>(_ => throw new TransientException("x"), Options(retries: 0), orElse: ex => { seen = ex; return -1; });

        Assert.Equal(-1, await fn(CancellationToken.None));
        Assert.NotNull(seen);
    }

    [Fact]
    public async Task Options_changed_after_wrapping_do_not_change_the_wrapper()
    {
        var options = Options(retries: 0);
        var calls = 0;
        var fn = Resilient.Wrap<int>(_ => { calls++; throw new TransientException("x"); }, options);
        options.Retries = 5;

        await Assert.ThrowsAsync<AllAttemptsFailedException>(() => fn(CancellationToken.None));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Two_argument_functions_are_wrapped_too()
    {
        var options = Options(retries: 1);
        options.MinDelay = TimeSpan.Zero;
        options.MaxDelay = TimeSpan.Zero;
        var calls = 0;
        var fn = Resilient.Wrap<int, int, int>((a, b, _) => ++calls == 1 ? throw new TransientException("x") : Task.FromResult(a + b), options);

        Assert.Equal(5, await fn(2, 3, CancellationToken.None));
    }
}
