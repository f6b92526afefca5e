using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// A flight: one leader runs the endpoint and its followers wait for its answer. What happens when the leader's client
/// goes away, when the leader fails, and when a follower has waited long enough.
/// </summary>
public sealed class RequestFlightTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Followers_get_a_complete_response_when_the_leaders_client_disconnects(bool leaderStartedItsBody)
    {
        var executions = 0;
        var leaderEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var takeover = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/report", async (HttpContext ctx) =>
        {
            var run = Interlocked.Increment(ref executions);
            if (run > 1)
            {
                await takeover.EnterAndWaitAsync();
            }

            if (run == 1)
            {
                if (leaderStartedItsBody)
                {
                    await ctx.Response.WriteAsync("partial-");
                    await ctx.Response.Body.FlushAsync();
                }

                leaderEntered.SetResult();
                await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
            }

            await ctx.Response.WriteAsync($"complete from run {run}");
        }));

        using var leaderCancel = new CancellationTokenSource();
        var leader = app.Client.GetAsync("/report", HttpCompletionOption.ResponseHeadersRead, leaderCancel.Token);
        await leaderEntered.Task.WaitAsync(TestApp.Patience);
        var followers = Enumerable.Range(0, 10).Select(_ => app.Client.GetStringAsync("/report")).ToArray();
        await app.WaitForFollowersAsync(10);

        // The leader's client goes away: before its headers arrived, or halfway through its body.
        await leaderCancel.CancelAsync();
        if (leaderStartedItsBody)
        {
            (await leader).Dispose();
        }
        else
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);
        }

        // One follower took over the same flight; the other nine still wait on it.
        await takeover.WaitForExecutionsAsync(1);
        takeover.Open();
        var bodies = await Task.WhenAll(followers);

        Assert.All(bodies, body => Assert.Equal("complete from run 2", body));
        Assert.Equal(2, executions);
        Assert.Equal(10, app.Joins);
        await TestApp.WaitUntilAsync(() => app.Stats.GetSnapshot().Requests.Active == 0, "no active flights");
        Assert.Equal(0, app.Stats.GetSnapshot().Requests.Errors);
    }

    [Fact]
    public async Task A_chain_of_leaders_whose_clients_disconnect_hands_over_one_at_a_time_without_a_herd()
    {
        var leaders = System.Threading.Channels.Channel.CreateUnbounded<int>();
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/chain", async (HttpContext ctx) =>
        {
            var id = int.Parse(ctx.Request.Headers["X-Client"]!, System.Globalization.CultureInfo.InvariantCulture);
            gate.Enter();
            leaders.Writer.TryWrite(id);
            await gate.WaitAsync(ctx.RequestAborted);
            return $"served by {id}";
        }), o => o.IgnoredInputs.Add("header:X-Client")); // (the header only tells the test which client led)

        const int Clients = 10;
        var cancels = Enumerable.Range(0, Clients).Select(_ => new CancellationTokenSource()).ToArray();
        var requests = Enumerable.Range(0, Clients).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/chain");
            request.Headers.Add("X-Client", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return app.Client.SendAsync(request, cancels[i].Token);
        }).ToArray();

        // Everyone joins one flight, which is handed from follower to follower as each leader's client goes.
        await app.WaitForFollowersAsync(Clients - 1);
        var gone = new HashSet<int>();
        for (var round = 0; round < 4; round++)
        {
            var leader = await leaders.Reader.ReadAsync().AsTask().WaitAsync(TestApp.Patience);
            gone.Add(leader);
            await cancels[leader].CancelAsync();
        }

        var last = await leaders.Reader.ReadAsync().AsTask().WaitAsync(TestApp.Patience);
        gate.Open();

        for (var i = 0; i < Clients; i++)
        {
            if (gone.Contains(i))
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => requests[i]);
                continue;
            }

            var response = await requests[i];
            Assert.Equal($"served by {last}", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(5, gate.Executions);
        Assert.Equal(Clients - 1, app.Joins);
        foreach (var cts in cancels)
        {
            cts.Dispose();
        }
    }

    [Fact]
    public async Task An_exception_in_the_leader_reaches_every_followers_pipeline_and_the_next_request_runs_again()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/boom", async () =>
            {
                var run = await gate.EnterAndWaitAsync();
                return run == 1 ? throw new InvalidOperationException("backend down") : Results.Text("recovered");
            }),
            beforeCoalescing: a => a.UseExceptionHandler(error => error.Run(async ctx =>
            {
                var feature = ctx.Features.Get<Microsoft.AspNetCore.Diagnostics.IExceptionHandlerFeature>();
                ctx.Response.StatusCode = 500;
                await ctx.Response.WriteAsync($"handled: {feature?.Error.Message}");
            })));

        var requests = Enumerable.Range(0, 20).Select(_ => app.Client.GetAsync("/boom")).ToArray();
        await app.WaitForFollowersAsync(19);
        gate.Open();
        var responses = await Task.WhenAll(requests);

        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            Assert.Equal("handled: backend down", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(1, gate.Executions);
        Assert.Equal(1, app.Stats.GetSnapshot().Requests.Errors);
        Assert.Equal("recovered", await app.Client.GetStringAsync("/boom"));
        Assert.Equal(2, gate.Executions);
    }

    [Fact]
    public async Task A_follower_runs_on_its_own_after_the_wait_timeout()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/stuck", async () =>
        {
            var run = gate.Enter();
            if (run == 1)
            {
                await gate.WaitAsync();
            }

            return $"run {run}";
        }).WithCoalescing(p => p.WaitTimeout(TimeSpan.FromSeconds(5))));

        var leader = app.Client.GetStringAsync("/stuck");
        await gate.WaitForExecutionsAsync(1);
        var follower = app.Client.GetStringAsync("/stuck");
        await app.WaitForFollowersAsync(1);
        await app.Time.WaitForTimersAsync(1);

        app.Time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(follower.IsCompleted);
        app.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("run 2", await follower);
        gate.Open();
        Assert.Equal("run 1", await leader);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(40)]
    public async Task When_the_leaders_client_goes_away_exactly_one_follower_takes_over_however_fast_it_runs(int followers)
    {
        var leaderEntered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/fast", async (HttpContext ctx) =>
            {
                if (Interlocked.Increment(ref runs) == 1)
                {
                    leaderEntered.SetResult();
                    await Task.Delay(Timeout.Infinite, ctx.RequestAborted);
                }

                return "fast answer";
            }),
            kestrel: true);

        using var leaderCancel = new CancellationTokenSource();
        var leader = app.Client.GetAsync("/fast", leaderCancel.Token);
        await leaderEntered.Task.WaitAsync(TestApp.Patience);
        var waiting = Enumerable.Range(0, followers).Select(_ => app.Client.GetStringAsync("/fast")).ToArray();
        await app.WaitForFollowersAsync(followers);

        await leaderCancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader);

        Assert.All(await Task.WhenAll(waiting), body => Assert.Equal("fast answer", body));
        Assert.Equal(2, Volatile.Read(ref runs));
    }
}
