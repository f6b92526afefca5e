using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>The remaining edges, on real Kestrel: users' functions that fail, query wildcards, take-over, Cache-Status.</summary>
public sealed class HttpEdgeCaseTests
{
    [Fact]
    public async Task A_tag_function_that_throws_costs_no_client_its_response_and_is_logged_once()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/things/{id}", async (string id) =>
            {
                var run = gate.Enter();
                await gate.WaitAsync();
                return $"thing {id} run {run}";
            }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag(ctx => ((string?)null)!.ToUpperInvariant())),
            services: s => s.AddFakeLogging(),
            kestrel: true);

        var requests = Enumerable.Range(0, 4).Select(_ => app.Client.GetAsync("/things/1")).ToArray();
        await gate.WaitForExecutionsAsync(4);
        gate.Open();

        foreach (var response in await Task.WhenAll(requests))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("thing 1 run ", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var logged = app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == 2009).ToList();
        Assert.IsType<NullReferenceException>(Assert.Single(logged).Exception);
        Assert.Equal(0, app.Cache.Count);
    }

    [Fact]
    public async Task VaryByQuery_star_means_every_query_parameter()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/search", async (HttpContext ctx) =>
            {
                var run = gate.Enter();
                await gate.WaitAsync();
                return $"{ctx.Request.QueryString}|{run}";
            }).WithCoalescing(p => p.VaryByQuery("*")),
            kestrel: true);

        await app.AssertNotSharedAsync(gate, "/search?q=1", "/search?q=2");
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

    [Fact]
    public async Task Cache_Status_says_how_each_response_was_served()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/memo", async () =>
                {
                    gate.Enter();
                    await gate.WaitAsync();
                    return "memo";
                }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)));
                a.MapPost("/memo", () => "posted");
            },
            configure: o => o.EmitCacheStatus = true,
            kestrel: true);

        var leader = app.Client.GetAsync("/memo");
        await gate.WaitForExecutionsAsync(1);
        var follower = app.Client.GetAsync("/memo");
        await app.WaitForFollowersAsync(1);
        gate.Open();

        Assert.Equal("Coalesce; fwd=miss", Status(await leader));
        Assert.Equal("Coalesce; fwd=miss; collapsed", Status(await follower));
        await app.WaitForNoFlightsAsync();
        Assert.Equal("Coalesce; hit", Status(await app.Client.GetAsync("/memo")));
        Assert.Equal("Coalesce; fwd=bypass", Status(await app.Client.PostAsync("/memo", null)));

        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/memo");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 1);
        Assert.Equal("Coalesce; hit", Status(await app.Client.SendAsync(ranged)));

        static string Status(HttpResponseMessage response) => string.Join(", ", response.Headers.GetValues("Cache-Status"));
    }

    [Fact]
    public async Task Cache_Status_is_off_by_default()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/plain", () => "plain"), kestrel: true);

        using var response = await app.Client.GetAsync("/plain");

        Assert.False(response.Headers.Contains("Cache-Status"));
    }
}
