using Microsoft.Extensions.Time.Testing;

namespace Coalesce.StackExchangeRedis.Tests;

public sealed class CircuitBreakerTests
{
    private readonly FakeTimeProvider _time = new();
    private int _probes;
    private bool _healthy;

    [Fact]
    public async Task Starts_open_and_closes_only_when_a_probe_succeeds()
    {
        using var breaker = Create();
        Assert.True(breaker.IsOpen);

        _time.Advance(TimeSpan.FromSeconds(1));
        await Settle();
        Assert.Equal(1, _probes);
        Assert.True(breaker.IsOpen);

        _healthy = true;
        _time.Advance(TimeSpan.FromSeconds(1));
        await Settle();
        Assert.False(breaker.IsOpen);
        Assert.Equal(2, _probes);
    }

    [Fact]
    public async Task Opens_after_the_threshold_of_failures_in_a_row_and_a_success_resets_the_count()
    {
        using var breaker = await ClosedAsync();

        breaker.RecordFailure("x");
        breaker.RecordFailure("x");
        breaker.RecordSuccess();
        breaker.RecordFailure("x");
        breaker.RecordFailure("x");
        Assert.False(breaker.IsOpen);

        breaker.RecordFailure("x");
        Assert.True(breaker.IsOpen);
        Assert.Equal(1, breaker.Openings);
    }

    [Fact]
    public async Task Probes_every_interval_while_open_and_stops_probing_once_closed()
    {
        using var breaker = await ClosedAsync();
        var probesBefore = _probes;
        _healthy = false;
        breaker.Open("connection failed");

        _time.Advance(TimeSpan.FromMilliseconds(999));
        await Settle();
        Assert.Equal(probesBefore, _probes);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        await Settle();
        _time.Advance(TimeSpan.FromSeconds(1));
        await Settle();
        Assert.Equal(probesBefore + 2, _probes);

        _healthy = true;
        _time.Advance(TimeSpan.FromSeconds(1));
        await Settle();
        Assert.False(breaker.IsOpen);
        _time.Advance(TimeSpan.FromSeconds(5));
        await Settle();
        Assert.Equal(probesBefore + 3, _probes);
    }

    [Fact]
    public async Task A_probe_that_throws_keeps_the_breaker_open()
    {
        using var breaker = new CircuitBreaker(3, TimeSpan.FromSeconds(1), _time, _ => throw new InvalidOperationException("boom"));
        _time.Advance(TimeSpan.FromSeconds(1));
        await Settle();
        Assert.True(breaker.IsOpen);
    }

    [Fact]
    public async Task A_failure_reported_while_a_probe_runs_keeps_the_breaker_open()
    {
        var release = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var breaker = new CircuitBreaker(3, TimeSpan.FromSeconds(1), _time, _ => release.Task);
        breaker.ProbeSoon();

        breaker.Open("the subscription failed while the probe ran");
        release.SetResult(true);
        await Settle();

        Assert.True(breaker.IsOpen);
    }

    private CircuitBreaker Create() => new(3, TimeSpan.FromSeconds(1), _time, _ =>
    {
        _probes++;
        return Task.FromResult(_healthy);
    });

    private async Task<CircuitBreaker> ClosedAsync()
    {
        var breaker = Create();
        _healthy = true;
        breaker.ProbeSoon();
        await Settle();
        Assert.False(breaker.IsOpen);
        return breaker;
    }

    private static Task Settle() => Task.Delay(10);
}
