using System.Net;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Http;

/// <summary>The HttpClient handler's memoized responses served stale: while revalidating, on error and at a soft timeout.</summary>
public sealed class HttpMemoStaleTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Callers_of_a_stale_response_get_it_at_once_and_one_background_call_refreshes_it()
    {
        var gate = new Gate();
        var network = SecondCallHeldAt(gate);
        using var scripted = Client(network, o => o.StaleWhileRevalidate(TimeSpan.FromMinutes(5)));
        scripted.Client.DefaultRequestHeaders.Add("Accept", "application/json");
        Assert.Equal("call 1", await scripted.Client.GetStringAsync("/forecast?city=oslo"));
        scripted.Time.Advance(Ttl);

        using var callers = new CancellationTokenSource();
        var stale = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => scripted.Client.GetStringAsync("/forecast?city=oslo", callers.Token)));
        await callers.CancelAsync();

        Assert.All(stale, body => Assert.Equal("call 1", body));
        await network.WaitForCallsAsync(2);
        var refresh = network.Requests[1];
        Assert.Equal(new Uri("http://primary.test/forecast?city=oslo"), refresh.Uri);
        Assert.Equal("application/json", refresh.Headers["Accept"]);
        Assert.False(refresh.Token.IsCancellationRequested);

        gate.Open();
        await TestApp.WaitUntilAsync(() => scripted.Stats.Active == 0, "the refresh to end");
        Assert.Equal("call 2", await scripted.Client.GetStringAsync("/forecast?city=oslo"));
        Assert.Equal(2, network.Count);
        var stats = Cache(scripted).GetStats();
        Assert.Equal((20, 1, 0), (stats.StaleWhileRevalidateHits, stats.Refreshes, stats.RefreshFailures));
    }

    [Fact]
    public async Task A_refresh_that_gets_a_5xx_keeps_the_stale_response_and_is_reported()
    {
        var network = new ScriptedHandler(sent => sent.Index == 1
            ? ScriptedHandler.Respond(HttpStatusCode.OK, "good")
            : ScriptedHandler.Respond(HttpStatusCode.ServiceUnavailable, "down"));
        using var scripted = Client(network, o => o.StaleWhileRevalidate(TimeSpan.FromMinutes(5)));
        var reported = new TaskCompletionSource<CacheRefreshFailedEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        Cache(scripted).RefreshFailed += (_, e) => reported.TrySetResult(e);
        await MemoizeThenExpireAsync(scripted);

        Assert.Equal("good", await scripted.Client.GetStringAsync("/forecast"));
        var failure = await reported.Task;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, Assert.IsType<HttpRequestException>(failure.Exception).StatusCode);
        Assert.StartsWith($"http:{ScriptedClient.Name}:", failure.Key, StringComparison.Ordinal);
        Assert.Equal(1, Cache(scripted).GetStats().RefreshFailures);
        Assert.Equal(1, Cache(scripted).Count);
        var logged = Assert.Single(scripted.Logs.GetSnapshot(), r => r.Id.Id == 2205);
        Assert.Equal($"{ScriptedClient.Name}: refreshing a stale memoized response failed (status 503); the stale response stays until its windows end", logged.Message);
        Assert.Equal("good", await scripted.Client.GetStringAsync("/forecast"));
    }

    /// <summary>What the network answers the call after the memoized one.</summary>
    public enum Second
    {
        Throws,
        BadGateway,
        NotFound,
    }

    [Theory]
    [InlineData(Second.Throws, "OK good", 1, nameof(HttpRequestException))]
    [InlineData(Second.BadGateway, "OK good", 1, "BadGateway bad gateway")]
    [InlineData(Second.NotFound, "NotFound gone", 0, "NotFound gone")] // a 4xx is an answer, not an error
    public async Task Inside_its_stale_if_error_window_a_failing_backend_gets_callers_the_stale_response_and_a_4xx_is_an_answer_not_an_error(
        Second second, string inside, int staleIfErrorHits, string pastTheWindow)
    {
        var network = new ScriptedHandler(sent => sent.Index == 1
            ? ScriptedHandler.Respond(HttpStatusCode.OK, "good")
            : second switch
            {
                Second.Throws => throw new HttpRequestException("connection refused"),
                Second.BadGateway => ScriptedHandler.Respond(HttpStatusCode.BadGateway, "bad gateway"),
                _ => ScriptedHandler.Respond(HttpStatusCode.NotFound, "gone"),
            });
        using var scripted = Client(network, o => o.StaleIfError(TimeSpan.FromHours(1)));
        await MemoizeThenExpireAsync(scripted);
        scripted.Time.Advance(TimeSpan.FromMinutes(59));

        Assert.Equal(inside, await OutcomeAsync(scripted));
        Assert.Equal(staleIfErrorHits, Cache(scripted).GetStats().StaleIfErrorHits);

        // Past the window the failure goes through as before.
        scripted.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(pastTheWindow, await OutcomeAsync(scripted));
    }

    [Fact]
    public async Task The_callers_own_cancellation_is_not_an_error()
    {
        var gate = new Gate();
        var network = new ScriptedHandler(async sent =>
        {
            if (sent.Index > 1)
            {
                await gate.WaitAsync(sent.Token);
            }

            return ScriptedHandler.Respond(HttpStatusCode.OK, "good");
        });
        using var scripted = Client(network, o => o.StaleIfError(TimeSpan.FromHours(1)));
        await MemoizeThenExpireAsync(scripted);
        using var caller = new CancellationTokenSource();

        var pending = scripted.Client.GetStringAsync("/forecast", caller.Token);
        await network.WaitForCallsAsync(2);
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        Assert.Equal(0, Cache(scripted).GetStats().StaleIfErrorHits);
    }

    [Fact]
    public async Task A_call_slower_than_the_soft_timeout_returns_the_stale_response_and_its_late_response_is_memoized()
    {
        var gate = new Gate();
        var network = SecondCallHeldAt(gate);
        using var scripted = Client(network, o => o.StaleIfError(TimeSpan.FromHours(1), softTimeout: TimeSpan.FromSeconds(2)));
        await MemoizeThenExpireAsync(scripted);
        var timers = scripted.Time.PendingTimers;
        using var caller = new CancellationTokenSource();

        var pending = scripted.Client.GetStringAsync("/forecast", caller.Token);
        await network.WaitForCallsAsync(2);
        await scripted.Time.WaitForTimersAsync(timers + 1);
        scripted.Time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal("call 1", await pending);
        await caller.CancelAsync();
        Assert.False(network.Requests[1].Token.IsCancellationRequested);
        gate.Open();
        await TestApp.WaitUntilAsync(() => scripted.Stats.Active == 0, "the late call to end");
        Assert.Equal("call 2", await scripted.Client.GetStringAsync("/forecast"));
        Assert.Equal(1, Cache(scripted).GetStats().SoftTimeoutHits);
    }

    [Fact]
    public async Task An_invalidation_during_a_refresh_keeps_its_response_from_being_memoized_and_the_stale_one_from_being_served()
    {
        var gate = new Gate();
        var network = SecondCallHeldAt(gate);
        using var scripted = Client(network, o => o.StaleWhileRevalidate(TimeSpan.FromMinutes(5)));
        await MemoizeThenExpireAsync(scripted);
        Assert.Equal("call 1", await scripted.Client.GetStringAsync("/forecast"));
        await network.WaitForCallsAsync(2);

        Assert.Equal(1, await Cache(scripted).InvalidateByTagAsync("forecasts"));
        gate.Open();
        await TestApp.WaitUntilAsync(() => scripted.Stats.Active == 0, "the refresh to end");

        Assert.Empty(Cache(scripted).Keys());
        Assert.Equal("call 3", await scripted.Client.GetStringAsync("/forecast"));
    }

    /// <summary>A network whose second call waits at <paramref name="gate"/>; every call answers "call N".</summary>
    private static ScriptedHandler SecondCallHeldAt(Gate gate) => new(async sent =>
    {
        if (sent.Index == 2)
        {
            await gate.WaitAsync();
        }

        return ScriptedHandler.Respond(HttpStatusCode.OK, $"call {sent.Index}");
    });

    /// <summary>Memoizes <c>GET /forecast</c>, then lets its time to live pass.</summary>
    private static async Task MemoizeThenExpireAsync(ScriptedClient scripted)
    {
        await scripted.Client.GetStringAsync("/forecast");
        scripted.Time.Advance(Ttl);
    }

    /// <summary>A call's outcome as one string: the status and the body, or the exception's type.</summary>
    private static async Task<string> OutcomeAsync(ScriptedClient scripted)
    {
        try
        {
            using var response = await scripted.Client.GetAsync("/forecast");
            return $"{response.StatusCode} {await response.Content.ReadAsStringAsync()}";
        }
        catch (HttpRequestException ex) when (ex.GetType() == typeof(HttpRequestException))
        {
            return nameof(HttpRequestException);
        }
    }

    private static ScriptedClient Client(ScriptedHandler network, Action<HttpCoalescingOptions> windows) =>
        new(network, o =>
        {
            ScriptedClient.Untimed(o);
            o.CoalescingOnly();
            windows(o.Memoize(Ttl, "forecasts"));
        });

    private static MemoCache Cache(ScriptedClient scripted) => scripted.Services.GetRequiredService<MemoCache>();
}
