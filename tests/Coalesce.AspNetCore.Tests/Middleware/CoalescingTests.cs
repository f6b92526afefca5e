using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore.Tests.Middleware;

public sealed class CoalescingTests
{
    [Fact]
    public async Task Concurrent_identical_GETs_run_the_handler_once_and_all_get_the_same_response()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/slow", async (HttpContext ctx) =>
        {
            var run = gate.Enter();
            await gate.WaitAsync();
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
        Assert.Equal(new FlightCounts(Hits: 199, Misses: 1, Errors: 0, Active: 0), stats.Requests);
        var endpoint = Assert.Single(stats.Endpoints);
        Assert.Equal("GET /slow", endpoint.Name);
        Assert.Equal(199, endpoint.Hits);
        Assert.Equal(1, endpoint.Misses);
    }

    [Theory]
    [InlineData("/items?a=1", "/items?a=2")]
    [InlineData("/items/1", "/items/2")]
    [InlineData("/items?a=1&b=2", "/items?a=1&b=3")]
    [InlineData("/items?q=a%26b", "/items?q=a&b")]
    [InlineData("/items?q=x", "/items?Q=x")]
    public async Task Requests_that_differ_in_path_or_query_are_not_shared(string first, string second)
    {
        var gate = new Gate();
        await using var app = await GatedCatchAll(gate);

        await app.AssertNotSharedAsync(gate, first, second);
    }

    [Fact]
    public async Task Query_parameter_order_does_not_matter()
    {
        var gate = new Gate();
        await using var app = await GatedCatchAll(gate);

        var a = app.Client.GetStringAsync("/items?a=1&b=2");
        await gate.WaitForExecutionsAsync(1);
        var b = app.Client.GetStringAsync("/items?b=2&a=1");
        await app.WaitForFollowersAsync(1);
        gate.Open();

        Assert.Equal(await a, await b);
        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task Different_Accept_values_and_HEAD_versus_GET_are_not_shared()
    {
        var gate = new Gate();
        await using var app = await GatedCatchAll(gate);

        var json = Send(app, HttpMethod.Get, "/items", accept: "application/json");
        var xml = Send(app, HttpMethod.Get, "/items", accept: "application/xml");
        var head = Send(app, HttpMethod.Head, "/items", accept: "application/json");
        await gate.WaitForExecutionsAsync(3);
        gate.Open();

        await Task.WhenAll(json, xml, head);
        Assert.Equal(3, gate.Executions);
    }

    [Fact]
    public async Task Two_users_never_share_while_each_users_duplicates_still_coalesce()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/me", async (HttpContext ctx) =>
        {
            gate.Enter();
            await gate.WaitAsync();
            return $"{ctx.Request.Headers.Authorization}|{ctx.Request.Headers.Cookie}";
        }));

        var alice = Enumerable.Range(0, 5).Select(_ => Send(app, HttpMethod.Get, "/me", authorization: "Bearer alice")).ToList();
        var bob = Enumerable.Range(0, 5).Select(_ => Send(app, HttpMethod.Get, "/me", authorization: "Bearer bob")).ToList();
        var carol = Enumerable.Range(0, 5).Select(_ => Send(app, HttpMethod.Get, "/me", cookie: "session=carol")).ToList();
        var dave = Enumerable.Range(0, 5).Select(_ => Send(app, HttpMethod.Get, "/me", cookie: "session=dave")).ToList();
        await app.WaitForFollowersAsync(16);
        // A follower is counted when it joins, which can be before its leader reaches the handler.
        await gate.WaitForExecutionsAsync(4);
        gate.Open();

        foreach (var (requests, expected) in new[] { (alice, "Bearer alice|"), (bob, "Bearer bob|"), (carol, "|session=carol"), (dave, "|session=dave") })
        {
            foreach (var response in await Task.WhenAll(requests))
            {
                Assert.Equal(expected, await response.Content.ReadAsStringAsync());
            }
        }

        Assert.Equal(4, gate.Executions);
    }

    [Fact]
    public async Task Followers_of_a_response_that_sets_a_cookie_run_their_own_and_new_arrivals_pass_through()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/login-ish", async (HttpContext ctx) =>
        {
            var run = gate.Enter();
            await gate.WaitAsync();
            ctx.Response.Cookies.Append("session", $"run-{run}");
            return $"run-{run}";
        }), o => o.PassThroughDuration = TimeSpan.FromSeconds(5));

        var requests = Enumerable.Range(0, 4).Select(_ => app.Client.GetAsync("/login-ish")).ToArray();
        await app.WaitForFollowersAsync(3);
        gate.Open();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(4, gate.Executions);
        var cookies = responses.Select(r => Assert.Single(r.Headers.GetValues("Set-Cookie"))).ToList();
        Assert.Equal(4, cookies.Distinct().Count());
        foreach (var response in responses)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.StartsWith($"session={body};", Assert.Single(response.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        }

        // The key now passes through: a second gated wave runs side by side instead of queueing.
        var blocked = new Gate();
        gate = blocked;
        var wave = Enumerable.Range(0, 3).Select(_ => app.Client.GetAsync("/login-ish")).ToArray();
        await blocked.WaitForExecutionsAsync(3);
        blocked.Open();
        await Task.WhenAll(wave);
        Assert.Equal(3, blocked.Executions);
    }

    [Fact]
    public async Task A_body_over_the_buffer_limit_streams_in_full_to_the_leader_and_followers_run_their_own()
    {
        var gate = new Gate();
        var payload = new byte[64 * 1024];
        Random.Shared.NextBytes(payload);
        await using var app = await TestApp.StartAsync(a => a.MapGet("/big", async (HttpContext ctx) =>
        {
            gate.Enter();
            await gate.WaitAsync();
            ctx.Response.ContentType = "application/octet-stream";
            for (var offset = 0; offset < payload.Length; offset += 4096)
            {
                await ctx.Response.Body.WriteAsync(payload.AsMemory(offset, 4096));
            }
        }), o => o.MaxBufferedBodyBytes = 16 * 1024);

        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetByteArrayAsync("/big")).ToArray();
        await app.WaitForFollowersAsync(2);
        gate.Open();
        var bodies = await Task.WhenAll(requests);

        Assert.Equal(3, gate.Executions);
        Assert.All(bodies, body => Assert.Equal(payload, body));
    }

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
                takeover.Enter();
                await takeover.WaitAsync();
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
                var run = gate.Enter();
                await gate.WaitAsync();
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
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    [InlineData("PATCH")]
    public async Task Unsafe_methods_are_never_coalesced(string method)
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapMethods("/things", [method], async () =>
        {
            gate.Enter();
            await gate.WaitAsync();
            return "done";
        }));

        var requests = Enumerable.Range(0, 3).Select(_ => Send(app, new HttpMethod(method), "/things")).ToArray();
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
            a.MapGet("/open", async () => { gate.Enter(); await gate.WaitAsync(); return "open"; });
            a.MapGet("/private", async () => { gate.Enter(); await gate.WaitAsync(); return "private"; }).DisableCoalescing();
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

    [Fact]
    public async Task It_works_after_an_explicit_UseRouting_too()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/routed", async () => { gate.Enter(); await gate.WaitAsync(); return "routed"; }),
            beforeCoalescing: a => a.UseRouting());

        var requests = Enumerable.Range(0, 5).Select(_ => app.Client.GetStringAsync("/routed")).ToArray();
        await app.WaitForFollowersAsync(4);
        gate.Open();

        Assert.All(await Task.WhenAll(requests), body => Assert.Equal("routed", body));
        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task Placed_before_routing_it_coalesces_nothing_rather_than_guess_at_policies()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.UseRouting();
                a.MapGet("/late", async () => { gate.Enter(); await gate.WaitAsync(); return "late"; }).DisableCoalescing();
            });

        // UseRequestCoalescing ran before this UseRouting, so it saw no endpoint (and so no opt-out): nothing is shared.
        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetStringAsync("/late")).ToArray();
        await gate.WaitForExecutionsAsync(3);
        gate.Open();
        await Task.WhenAll(requests);

        Assert.Equal(3, gate.Executions);
        Assert.Equal(0, app.Stats.GetSnapshot().Requests.Misses);
    }

    [Fact]
    public void A_plain_application_builder_without_routing_is_told_to_call_UseRouting()
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddRequestCoalescing()
            .BuildServiceProvider();
        var builder = new ApplicationBuilder(services);

        var error = Assert.Throws<InvalidOperationException>(() => builder.UseRequestCoalescing());

        Assert.Contains("UseRouting", error.Message, StringComparison.Ordinal);
    }

    internal static Task<TestApp> GatedCatchAll(Gate gate) => TestApp.StartAsync(a => a.MapMethods("/items/{**rest}", ["GET", "HEAD"], async (HttpContext ctx) =>
    {
        var run = gate.Enter();
        await gate.WaitAsync();
        return $"{ctx.Request.Path}{ctx.Request.QueryString}|{ctx.Request.Headers.Accept}|{run}";
    }));

    internal static Task<HttpResponseMessage> Send(TestApp app, HttpMethod method, string url, string? accept = null, string? authorization = null, string? cookie = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (accept is not null) { request.Headers.TryAddWithoutValidation("Accept", accept); }
        if (authorization is not null) { request.Headers.TryAddWithoutValidation("Authorization", authorization); }
        if (cookie is not null) { request.Headers.TryAddWithoutValidation("Cookie", cookie); }
        return app.Client.SendAsync(request);
    }
}
