using Coalesce.Resilience;
using Coalesce.Testing;

namespace Coalesce.Tests.Resilience;

public class FallbackTests
{
    private readonly ManualTimeProvider _time = new();

    private ResilienceOptions Options(int retries) => new()
    {
        Retries = retries,
        MinDelay = TimeSpan.FromSeconds(1),
        MaxDelay = TimeSpan.FromSeconds(1),
        UseJitter = false,
        TimeProvider = _time,
    };

    [Fact]
    public async Task Each_attempt_tries_every_value_in_order_then_the_next_retry_starts_from_the_first()
    {
        var calls = new CallRecorder<string>();
        var fn = Resilient.WithFallback<string, int>((key, _) =>
        {
            calls.Record(key);
            throw new TransientException($"{key} refused");
        }, ["primary", "backup", "emergency"], Options(retries: 2));

        var run = fn(CancellationToken.None);
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            await calls.WaitForAsync(3 * attempt);
            await _time.WaitForTimersAsync(1);
            Assert.Equal(3 * attempt, calls.Count);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        var error = await Assert.ThrowsAsync<AllAttemptsFailedException>(() => run);
        string[] order = ["primary", "backup", "emergency"];
        Assert.Equal([.. order, .. order, .. order], calls.Calls);
        Assert.Equal(
            [.. order.Select(k => $"{k} refused"), .. order.Select(k => $"{k} refused"), .. order.Select(k => $"{k} refused")],
            error.Errors.Select(e => e.Message));
        Assert.StartsWith("All 9 attempts failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Whole_fallback_list_failing_counts_as_one_retry_attempt()
    {
        var options = Options(retries: 1);
        options.Name = $"fallback-{Guid.NewGuid():N}";
        using var counters = new ResilienceCounters(options.Name);
        options.MeterFactory = counters.Factory;
        var calls = new CallRecorder<int>();
        var fn = Resilient.WithFallback<int, int>((replica, _) =>
        {
            calls.Record(replica);
            return calls.Count == 5 ? Task.FromResult(replica * 10) : throw new TransientException("down");
        }, [1, 2, 3, 4], options);

        var run = fn(CancellationToken.None);
        await calls.WaitForAsync(4);
        await _time.WaitForTimersAsync(1);

        // Four failures, yet only one retry was scheduled.
        Assert.Equal(1, counters["coalesce.resilience.retries"]);
        Assert.Equal(3, counters["coalesce.resilience.fallbacks"]);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(10, await run);
        Assert.Equal([1, 2, 3, 4, 1], calls.Calls);
    }

    [Fact]
    public async Task The_first_value_that_works_ends_the_call()
    {
        var calls = new List<string>();
        var fn = Resilient.WithFallback<string, string, string>((path, baseAddress, _) =>
        {
            calls.Add(baseAddress);
            return baseAddress == "https://b" ? Task.FromResult(baseAddress + path) : throw new HttpRequestException("no route");
        }, ["https://a", "https://b", "https://c"], Options(retries: 3));

        Assert.Equal("https://b/users", await fn("/users", CancellationToken.None));
        Assert.Equal(["https://a", "https://b"], calls);
        Assert.Equal(0, _time.PendingTimers);
    }

    [Fact]
    public async Task A_non_retryable_error_stops_the_fallback_list_and_is_thrown_as_is()
    {
        var calls = new List<string>();
        var options = Options(retries: 3).RetryOnException<TransientException>();
        var fn = Resilient.WithFallback<string, int>((key, _) =>
        {
            calls.Add(key);
            throw new UnauthorizedAccessException(key);
        }, ["a", "b"], options);

        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => fn(CancellationToken.None));
        Assert.Equal(["a"], calls);
    }

    [Fact]
    public async Task Or_else_answers_when_every_value_of_every_attempt_failed()
    {
        var fn = Resilient.WithFallback<string, string>(
            (key, _) => throw new TransientException(key), ["a", "b"], Options(retries: 0), orElse: ex => $"cached after {ex.Errors.Count}");

        Assert.Equal("cached after 2", await fn(CancellationToken.None));
    }

    [Fact]
    public void An_empty_fallback_list_is_rejected_naming_the_parameter()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Resilient.WithFallback<string, int>((_, _) => Task.FromResult(1), [], Options(retries: 1)));

        Assert.Equal("fallbackValues", error.ParamName);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_fallback_list_is_copied_when_wrapping()
    {
        var keys = new List<string> { "a" };
        var seen = new List<string>();
        var fn = Resilient.WithFallback<string, int>((key, _) => { seen.Add(key); return Task.FromResult(1); }, keys, Options(retries: 0));
        keys[0] = "changed";

        await fn(CancellationToken.None);

        Assert.Equal(["a"], seen);
    }

    [Fact]
    public async Task The_executor_collects_every_values_error_and_rethrows_the_last()
    {
        var errors = new List<Exception>();
        var fallbacks = new List<int>();
        Uri[] addresses = [new("https://one"), new("https://two")];

        var error = await Assert.ThrowsAsync<TransientException>(async () => await FallbackExecutor.ExecuteAsync<Uri, int>(
            addresses,
            (uri, _) => throw new TransientException(uri.Host),
            errors,
            _ => true,
            (index, _) => fallbacks.Add(index),
            CancellationToken.None));

        Assert.Equal("two", error.Message);
        Assert.Equal(["one", "two"], errors.Select(e => e.Message));
        Assert.Equal([0], fallbacks);
    }

    [Fact]
    public async Task The_executor_stops_on_the_callers_cancellation_without_trying_the_next_value()
    {
        using var cts = new CancellationTokenSource();
        var errors = new List<Exception>();
        var tried = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await FallbackExecutor.ExecuteAsync<int, int>(
            [1, 2, 3],
            (_, ct) => { tried++; cts.Cancel(); ct.ThrowIfCancellationRequested(); return new(0); },
            errors,
            _ => true,
            null,
            cts.Token));

        Assert.Equal(1, tried);
        Assert.Empty(errors);
    }
}
