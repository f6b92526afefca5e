using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// The middleware end to end: a stampede of identical GETs runs the endpoint once, and what is never coalesced at all.
/// Each step has its tests in the folder its code is in: the key (<c>Keys/</c>), flights (<c>Flights/</c>), the capture
/// (<c>Streams/</c>), replay and memo (<c>Responses/</c>), preconditions and Cache-Status (<c>HttpRules/</c>), stale
/// responses (<c>Stale/</c>); invalidation and options beside this file.
/// </summary>
public sealed class RequestCoalescingMiddlewareTests
{
    [Fact]
    public async Task Concurrent_identical_GETs_run_the_handler_once_and_all_get_the_same_response()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/slow", async (HttpContext ctx) =>
        {
            var run = await gate.EnterAndWaitAsync();
            ctx.Response.Headers["X-Run"] = run.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Results.Text($"{{\"run\":{run},\"id\":\"{Guid.NewGuid()}\"}}", "application/json");
        }));

        var requests = Enumerable.Range(0, 200).Select(_ => app.Client.GetAsync("/slow")).ToArray();
        await app.WaitForFollowersAsync(199);
        gate.Open();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(1, gate.Executions);
        var first = await responses[0].Content.ReadAsStringAsync();
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(first, await response.Content.ReadAsStringAsync());
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal(first.Length, response.Content.Headers.ContentLength);
            Assert.Equal("1", Assert.Single(response.Headers.GetValues("X-Run")));
        }

        var stats = app.Stats.GetSnapshot();
        Assert.Equal((199, 1, 0, 0, 199), (stats.Requests.Hits, stats.Requests.Misses, stats.Requests.Errors, stats.Requests.Active, stats.Requests.Collapsed));
        var endpoint = Assert.Single(stats.Endpoints);
        Assert.Equal("GET /slow", endpoint.Name);
        Assert.Equal(199, endpoint.Hits);
        Assert.Equal(1, endpoint.Misses);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public async Task Unsafe_methods_are_never_coalesced(string method)
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapMethods("/things", [method], async () =>
        {
            await gate.EnterAndWaitAsync();
            return "done";
        }));

        var requests = Enumerable.Range(0, 3).Select(_ => app.SendAsync(new HttpMethod(method), "/things")).ToArray();
        await gate.WaitForExecutionsAsync(3);
        gate.Open();
        await Task.WhenAll(requests);
        Assert.Equal(3, gate.Executions);
        Assert.Equal(0, app.Stats.GetSnapshot().Requests.Misses);
    }

    [Fact]
    public async Task GETs_with_a_body_upgrade_requests_and_disabled_endpoints_are_untouched()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/open", async () => { await gate.EnterAndWaitAsync(); return "open"; });
            a.MapGet("/private", async () => { await gate.EnterAndWaitAsync(); return "private"; }).DisableCoalescing();
        });

        var withBody = Enumerable.Range(0, 2).Select(_ =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/open") { Content = new StringContent("filter") };
            return app.Client.SendAsync(request);
        });
        var upgrades = Enumerable.Range(0, 2).Select(_ =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/open");
            request.Headers.Connection.Add("Upgrade");
            request.Headers.Upgrade.Add(new ProductHeaderValue("websocket"));
            return app.Client.SendAsync(request);
        });
        var disabled = Enumerable.Range(0, 2).Select(_ => app.Client.GetAsync("/private"));
        var all = withBody.Concat(upgrades).Concat(disabled).ToArray();

        await gate.WaitForExecutionsAsync(6);
        gate.Open();
        await Task.WhenAll(all);
        Assert.Equal(6, gate.Executions);
        Assert.Equal(0, app.Stats.GetSnapshot().Requests.Misses);
    }
}
