using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// Stale-while-revalidate and stale-if-error for memoized responses, end to end, on a clock the test drives.
/// </summary>
public sealed class StaleTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Past_the_ttl_every_request_gets_the_stale_response_at_once_while_exactly_one_refresh_runs()
    {
        var version = 0;
        var refresh = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/catalog", async () =>
            {
                if (Interlocked.Increment(ref version) > 1)
                {
                    await refresh.EnterAndWaitAsync();
                }

                return $"catalog v{Volatile.Read(ref version)}";
            }).WithCoalescing(p => p.Memoize(Ttl).StaleWhileRevalidate(TimeSpan.FromMinutes(5))),
            o => o.EmitCacheStatus = true);

        Assert.Equal("catalog v1", await app.Client.GetStringAsync("/catalog"));
        app.Time.Advance(Ttl + TimeSpan.FromSeconds(12));

        var responses = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => app.Client.GetAsync("/catalog")));

        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("catalog v1", await response.Content.ReadAsStringAsync());
            Assert.Equal(TimeSpan.FromSeconds(42), response.Headers.Age);
            Assert.Equal("Coalesce; hit; ttl=-12; detail=stale-while-revalidate", Assert.Single(response.Headers.GetValues("Cache-Status")));
        }

        await refresh.WaitForExecutionsAsync(1);
        Assert.Equal(1, refresh.Executions);
        refresh.Open();
        await TestApp.WaitUntilAsync(() => app.Cache.Keys().Count == 1, "the refreshed response");

        var fresh = await app.Client.GetAsync("/catalog");
        Assert.Equal("catalog v2", await fresh.Content.ReadAsStringAsync());
        Assert.Equal("Coalesce; hit", Assert.Single(fresh.Headers.GetValues("Cache-Status")));
        Assert.Equal(2, version);

        var endpoint = Assert.Single(app.Stats.GetSnapshot().Endpoints);
        Assert.Equal(100, endpoint.StaleHits);
        Assert.Equal(1, endpoint.Refreshes);
        Assert.Equal(0, endpoint.RefreshFailures);
    }

    [Fact]
    public async Task After_a_long_outage_a_burst_over_many_stale_keys_starts_one_refresh_per_key()
    {
        var refresh = new Gate();
        var runs = new int[40];
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/items/{id:int}", async (int id) =>
            {
                if (Interlocked.Increment(ref runs[id]) > 1)
                {
                    await refresh.EnterAndWaitAsync();
                }

                return $"item {id} v{Volatile.Read(ref runs[id])}";
            }).WithCoalescing(p => p.Memoize(Ttl).StaleWhileRevalidate(TimeSpan.FromHours(1))));

        for (var id = 0; id < runs.Length; id++)
        {
            await app.Client.GetStringAsync($"/items/{id}");
        }

        app.Time.Advance(TimeSpan.FromMinutes(30));
        var burst = Enumerable.Range(0, 400).Select(i => app.Client.GetStringAsync($"/items/{i % runs.Length}")).ToArray();
        var bodies = await Task.WhenAll(burst);

        Assert.All(bodies.Select((body, i) => (body, i)), x => Assert.Equal($"item {x.i % runs.Length} v1", x.body));
        await refresh.WaitForExecutionsAsync(runs.Length);
        Assert.Equal(runs.Length, refresh.Executions);
        Assert.All(runs, r => Assert.Equal(2, r));

        refresh.Open();
        await TestApp.WaitUntilAsync(() => app.Cache.Keys().Count == runs.Length, "every refreshed response");
        Assert.Equal("item 7 v2", await app.Client.GetStringAsync("/items/7"));
        Assert.Equal(runs.Length, Assert.Single(app.Stats.GetSnapshot().Endpoints).Refreshes);
    }

    [Fact]
    public async Task A_head_request_gets_its_own_stale_response_and_refresh()
    {
        var runs = 0;
        var failing = false;
        await using var app = await TestApp.StartAsync(
            a => a.MapMethods("/doc", ["GET", "HEAD"], (HttpContext context) =>
            {
                Interlocked.Increment(ref runs);
                if (Volatile.Read(ref failing))
                {
                    return Results.StatusCode(500);
                }

                context.Response.ContentLength = 5;
                return Results.Text("doc 1");
            }).WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1))),
            kestrel: true);

        using var first = new HttpRequestMessage(HttpMethod.Head, "/doc");
        Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(first)).StatusCode);
        await app.WaitForNoFlightsAsync(); // (kept before the flight settles; the client may have its answer sooner)
        failing = true;
        app.Time.Advance(Ttl);

        using var head = new HttpRequestMessage(HttpMethod.Head, "/doc");
        var stale = await app.Client.SendAsync(head);
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal(5, stale.Content.Headers.ContentLength);
        Assert.NotNull(stale.Headers.Age);

        // The GET was never kept: nothing stale stands in for it.
        Assert.Equal(HttpStatusCode.InternalServerError, (await app.Client.GetAsync("/doc")).StatusCode);
    }

    [Fact]
    public async Task The_refresh_runs_the_endpoint_for_an_equivalent_request_in_its_own_scope_and_outlives_the_client_that_started_it()
    {
        var seen = new List<string>();
        var refresh = new Gate();
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/orders/{id}", async (int id, string? sort, HttpContext context, ScopedMarker marker) =>
            {
                var run = Interlocked.Increment(ref runs);
                lock (seen)
                {
                    seen.Add($"{context.Request.Method} {context.Request.Path}?sort={sort} id={id} tenant={context.Request.Headers["X-Tenant"]} " +
                             $"user={context.User.Identity?.Name} range={context.Request.Headers.Range} inm={context.Request.Headers.IfNoneMatch} scope={marker.Id != Guid.Empty}");
                }

                if (run > 1)
                {
                    await refresh.EnterAndWaitAsync(context.RequestAborted);
                }

                context.Response.Headers.ETag = $"\"v{run}\"";
                return $"order {id} v{run}";
            }).WithCoalescing(p => p.Memoize(Ttl).VaryByHeader("X-Tenant").StaleWhileRevalidate(TimeSpan.FromMinutes(1))),
            beforeCoalescing: a => a.UseAuthentication(),
            services: s =>
            {
                s.AddScoped<ScopedMarker>();
                s.AddAuthentication("Test").AddScheme<AuthenticationSchemeOptions, HeaderUserHandler>("Test", null);
            });

        using var first = Request("/orders/7?sort=asc", "acme", "alice");
        Assert.Equal("order 7 v1", await (await app.Client.SendAsync(first)).Content.ReadAsStringAsync());
        app.Time.Advance(Ttl + TimeSpan.FromSeconds(1));

        // The request that finds it stale is conditional and leaves at once; the refresh is not tied to it.
        using var stale = Request("/orders/7?sort=asc", "acme", "alice");
        stale.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\"");
        var answer = await app.Client.SendAsync(stale);
        Assert.Equal(HttpStatusCode.NotModified, answer.StatusCode);

        await refresh.WaitForExecutionsAsync(1);
        refresh.Open();
        await app.WaitForNoFlightsAsync();
        await TestApp.WaitUntilAsync(() => app.Cache.Keys().Count == 1, "the refreshed response");

        using var after = Request("/orders/7?sort=asc", "acme", "alice");
        Assert.Equal("order 7 v2", await (await app.Client.SendAsync(after)).Content.ReadAsStringAsync());
        Assert.Equal(
            [
                "GET /orders/7?sort=asc id=7 tenant=acme user=alice range= inm= scope=True",
                "GET /orders/7?sort=asc id=7 tenant=acme user=alice range= inm= scope=True",
            ],
            seen);
    }

    [Fact]
    public async Task A_failed_refresh_keeps_the_stale_response_lets_the_endpoint_rest_and_is_counted_and_logged()
    {
        var failing = false;
        var runs = 0;
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogCollector();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/prices", () =>
            {
                Interlocked.Increment(ref runs);
                return Volatile.Read(ref failing) ? throw new InvalidOperationException("database down") : "prices v1";
            }).WithCoalescing(p => p.Memoize(Ttl).StaleWhileRevalidate(TimeSpan.FromMinutes(10))),
            services: s => s.AddLogging(l => l.AddProvider(new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider(logs))));

        await app.Client.GetStringAsync("/prices");
        failing = true;
        app.Time.Advance(Ttl);

        Assert.Equal("prices v1", await app.Client.GetStringAsync("/prices"));
        await TestApp.WaitUntilAsync(() => Assert.Single(app.Stats.GetSnapshot().Endpoints).RefreshFailures == 1, "the failed refresh");
        Assert.Equal(2, runs);
        var logged = Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 2015);
        Assert.IsType<InvalidOperationException>(logged.Exception);

        // Resting: served stale without trying the failing endpoint again.
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("prices v1", await app.Client.GetStringAsync("/prices"));
        }

        Assert.Equal(2, runs);

        failing = false;
        app.Time.Advance(StaleResponses.MaxStaleRest);
        Assert.Equal("prices v1", await app.Client.GetStringAsync("/prices"));
        await TestApp.WaitUntilAsync(() => Volatile.Read(ref runs) == 3 && app.Flights.InFlightCount == 0, "the second refresh");
        await TestApp.WaitUntilAsync(() => app.Cache.Keys().Count == 1, "the refreshed response");
        Assert.Equal(2, Assert.Single(app.Stats.GetSnapshot().Endpoints).Refreshes);
    }

    [Theory]
    [InlineData("throws")]
    [InlineData("503")]
    public async Task When_the_endpoint_fails_inside_the_window_the_leader_and_its_followers_get_the_stale_response(string failure)
    {
        var failing = false;
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/stock", async () =>
            {
                if (!Volatile.Read(ref failing))
                {
                    return Results.Text("stock v1");
                }

                await gate.EnterAndWaitAsync();
                return failure == "throws" ? throw new InvalidOperationException("down") : Results.Text("backend down", statusCode: 503);
            }).WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1))),
            o => o.EmitCacheStatus = true,
            kestrel: true);

        await app.Client.GetStringAsync("/stock");
        await app.WaitForNoFlightsAsync(); // (kept before the flight settles; the client may have its answer sooner)
        failing = true;
        app.Time.Advance(Ttl + TimeSpan.FromSeconds(3));

        var requests = Enumerable.Range(0, 20).Select(_ => app.Client.GetAsync("/stock")).ToArray();
        await app.WaitForFollowersAsync(19);
        gate.Open();

        foreach (var response in await Task.WhenAll(requests))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("stock v1", await response.Content.ReadAsStringAsync());
            Assert.Equal(TimeSpan.FromSeconds(33), response.Headers.Age);
            var status = Assert.Single(response.Headers.GetValues("Cache-Status"));
            Assert.Contains("fwd=stale", status, StringComparison.Ordinal);
            Assert.EndsWith("detail=stale-if-error", status, StringComparison.Ordinal);
            if (failure == "503")
            {
                Assert.Contains("fwd-status=503", status, StringComparison.Ordinal);
            }
        }

        Assert.Equal(1, gate.Executions);
        var endpoint = Assert.Single(app.Stats.GetSnapshot().Endpoints);
        Assert.Equal(20, endpoint.StaleOnError);
    }

    [Fact]
    public async Task Outside_the_window_the_error_goes_through_as_without_stale_responses()
    {
        var failing = false;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/stock", () => Volatile.Read(ref failing) ? Results.StatusCode(503) : Results.Text("stock v1"))
                .WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromMinutes(1))));

        await app.Client.GetStringAsync("/stock");
        failing = true;
        app.Time.Advance(Ttl + TimeSpan.FromMinutes(1));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.Client.GetAsync("/stock")).StatusCode);
    }

    [Fact]
    public async Task After_a_failure_the_stale_response_is_served_without_trying_the_endpoint_until_the_rest_is_over()
    {
        var failing = false;
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/stock", () =>
            {
                Interlocked.Increment(ref runs);
                return Volatile.Read(ref failing) ? Results.StatusCode(500) : Results.Text($"stock v{runs}");
            }).WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1))));

        await app.Client.GetStringAsync("/stock");
        failing = true;
        app.Time.Advance(Ttl);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("stock v1", await app.Client.GetStringAsync("/stock"));
            await app.WaitForNoFlightsAsync();
        }

        Assert.Equal(2, runs);

        failing = false;
        app.Time.Advance(StaleResponses.MaxStaleRest);
        Assert.Equal("stock v3", await app.Client.GetStringAsync("/stock"));
        await app.WaitForNoFlightsAsync();
        Assert.Equal("stock v3", await app.Client.GetStringAsync("/stock"));
        Assert.Equal(3, runs);
    }

    [Fact]
    public async Task While_an_endpoint_fails_its_stale_keys_are_answered_without_it_and_one_probe_per_rest_tries_it_again()
    {
        var down = false;
        var runs = 0;
        var logs = new Microsoft.Extensions.Logging.Testing.FakeLogCollector();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/items/{id:int}", (int id) =>
            {
                Interlocked.Increment(ref runs);
                return Volatile.Read(ref down) ? Results.StatusCode(503) : Results.Text($"item {id}");
            }).WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1))),
            services: s => s.AddLogging(l => l.AddProvider(new Microsoft.Extensions.Logging.Testing.FakeLoggerProvider(logs))));

        for (var id = 0; id < 50; id++)
        {
            await app.Client.GetStringAsync($"/items/{id}");
        }

        down = true;
        app.Time.Advance(Ttl);
        runs = 0;

        // The first failure makes the endpoint rest: the other 49 stale keys never reach it.
        for (var id = 0; id < 50; id++)
        {
            Assert.Equal($"item {id}", await app.Client.GetStringAsync($"/items/{id}"));
        }

        Assert.Equal(1, runs);

        // After the rest, one request probes; it fails, and the rest starts again.
        app.Time.Advance(StaleResponses.MaxStaleRest);
        await Task.WhenAll(Enumerable.Range(0, 50).Select(id => app.Client.GetStringAsync($"/items/{id}")));
        Assert.Equal(2, runs);
        Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 2015);

        // The backend returns: the next probe succeeds and the endpoint runs as usual again.
        down = false;
        app.Time.Advance(StaleResponses.MaxStaleRest);
        Assert.Equal("item 3", await app.Client.GetStringAsync("/items/3"));
        await app.WaitForNoFlightsAsync();
        Assert.Equal("item 4", await app.Client.GetStringAsync("/items/4"));
        Assert.Equal(4, runs);
        Assert.Single(logs.GetSnapshot(), r => r.Id.Id == 2018);
        Assert.Equal(100, Assert.Single(app.Stats.GetSnapshot().Endpoints).StaleOnError);
    }

    [Fact]
    public async Task A_follower_whose_wait_times_out_gets_the_stale_response_instead_of_running_its_own()
    {
        var slow = false;
        var gate = new Gate();
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/report", async () =>
            {
                Interlocked.Increment(ref runs);
                if (Volatile.Read(ref slow))
                {
                    await gate.EnterAndWaitAsync();
                }

                return $"report v{runs}";
            }).WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1)).WaitTimeout(TimeSpan.FromSeconds(2))));

        await app.Client.GetStringAsync("/report");
        slow = true;
        app.Time.Advance(Ttl);

        var leader = app.Client.GetStringAsync("/report");
        await gate.WaitForExecutionsAsync(1);
        var timers = app.Time.PendingTimers;
        var follower = app.Client.GetStringAsync("/report");
        await app.WaitForFollowersAsync(1);
        await app.Time.WaitForTimersAsync(timers + 1);
        app.Time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal("report v1", await follower);
        gate.Open();
        Assert.Equal("report v2", await leader);
        Assert.Equal(2, runs);
    }

    [Fact]
    public async Task A_request_timeout_of_the_leader_is_answered_with_the_stale_response()
    {
        var slow = false;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/slow", async (HttpContext context) =>
            {
                if (Volatile.Read(ref slow))
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }

                return "slow v1";
            }).WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1))).WithRequestTimeout(TimeSpan.FromMilliseconds(100)),
            beforeCoalescing: a => a.UseRequestTimeouts(),
            services: s => s.AddRequestTimeouts(),
            kestrel: true);

        await app.Client.GetStringAsync("/slow");
        await app.WaitForNoFlightsAsync(); // (kept before the flight settles; the client may have its answer sooner)
        slow = true;
        app.Time.Advance(Ttl);

        var response = await app.Client.GetAsync("/slow");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("slow v1", await response.Content.ReadAsStringAsync());
        Assert.Equal(1, Assert.Single(app.Stats.GetSnapshot().Endpoints).StaleOnError);
    }

    [Theory]
    [InlineData("invalidates-tags")]
    [InlineData("tag")]
    [InlineData("key")]
    [InlineData("pattern")]
    [InlineData("clear")]
    public async Task An_invalidated_response_is_never_served_stale(string how)
    {
        var failing = false;
        var runs = 0;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/products/{id}", (int id) =>
            {
                Interlocked.Increment(ref runs);
                return Volatile.Read(ref failing) ? Results.StatusCode(500) : Results.Text($"product {id} v{runs}");
            }).WithCoalescing(p => p.Memoize(Ttl).Tag("product:{id}").StaleWhileRevalidate(TimeSpan.FromHours(1)).StaleIfError(TimeSpan.FromHours(1)));
            a.MapPost("/products/{id}", (int id) => Results.NoContent()).InvalidatesTags("product:{id}");
        });

        await app.Client.GetStringAsync("/products/1");
        switch (how)
        {
            case "invalidates-tags":
                (await app.Client.PostAsync("/products/1", null)).EnsureSuccessStatusCode();
                break;
            case "tag":
                await app.Cache.InvalidateByTagAsync("product:1");
                break;
            case "key":
                await app.Cache.InvalidateAsync(FirstKey(app));
                break;
            case "pattern":
                await app.Cache.InvalidateByPatternAsync("*");
                break;
            default:
                await app.Cache.ClearAsync();
                break;
        }

        failing = true;
        app.Time.Advance(Ttl + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.InternalServerError, (await app.Client.GetAsync("/products/1")).StatusCode);

        failing = false;
        await app.WaitForNoFlightsAsync();
        Assert.Equal("product 1 v3", await app.Client.GetStringAsync("/products/1"));
    }

    [Fact]
    public async Task A_refresh_that_read_before_an_invalidation_does_not_store_what_it_rendered()
    {
        var version = 1;
        var refresh = new Gate();
        var runs = 0;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/products/{id}", async (int id) =>
            {
                var read = Volatile.Read(ref version);
                if (Interlocked.Increment(ref runs) == 2)
                {
                    await refresh.EnterAndWaitAsync();
                }

                return $"product {id} v{read}";
            }).WithCoalescing(p => p.Memoize(Ttl).Tag("product:{id}").StaleWhileRevalidate(TimeSpan.FromHours(1)));
            a.MapPut("/products/{id}", (int id) =>
            {
                Interlocked.Increment(ref version);
                return Results.NoContent();
            }).InvalidatesTags("product:{id}");
        });

        await app.Client.GetStringAsync("/products/1");
        app.Time.Advance(Ttl);
        Assert.Equal("product 1 v1", await app.Client.GetStringAsync("/products/1"));
        await refresh.WaitForExecutionsAsync(1);

        (await app.Client.PutAsync("/products/1", null)).EnsureSuccessStatusCode();
        refresh.Open();
        await app.WaitForNoFlightsAsync();

        Assert.Equal("product 1 v2", await app.Client.GetStringAsync("/products/1"));
        Assert.Equal(3, runs);
    }

    [Theory]
    [InlineData("body")]
    [InlineData("writer")]
    [InlineData("large")]
    public async Task A_held_back_leader_response_reaches_its_client_whole_when_the_endpoint_succeeds(string style)
    {
        var runs = 0;
        var large = new string('x', 200_000);
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/page", async (HttpContext context) =>
            {
                var run = Interlocked.Increment(ref runs);
                context.Response.ContentType = "text/plain";
                var text = style == "large" ? $"v{run}:{large}" : $"page v{run}";
                if (style == "writer")
                {
                    await context.Response.BodyWriter.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text));
                    await context.Response.BodyWriter.FlushAsync();
                }
                else
                {
                    await context.Response.WriteAsync(text);
                }
            }).WithCoalescing(p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1))),
            o => o.MaxBufferedBodyBytes = 100_000,
            kestrel: true);

        await app.Client.GetStringAsync("/page");
        await app.WaitForNoFlightsAsync(); // (kept before the flight settles; the client may have its answer sooner)
        app.Time.Advance(Ttl);

        var body = await app.Client.GetStringAsync("/page");
        Assert.Equal(style == "large" ? $"v2:{large}" : "page v2", body);
    }

    [Fact]
    public async Task Stale_windows_need_memoize_and_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoalescingPolicyBuilder().StaleWhileRevalidate(TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CoalescingPolicyBuilder().StaleIfError(TimeSpan.FromSeconds(-1)));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a => a.MapGet("/x", () => "x").WithCoalescing(p => p.StaleWhileRevalidate(TimeSpan.FromMinutes(1)))));
        Assert.Contains("StaleWhileRevalidate without Memoize", error.Message, StringComparison.Ordinal);

        var attribute = await Assert.ThrowsAnyAsync<Exception>(() => TestApp.StartAsync(
            a => a.MapGet("/y", [Coalesce(StaleIfErrorSeconds = 60)] () => "y")));
        Assert.Contains("StaleIfError without Memoize", attribute.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_attribute_and_named_policies_set_the_windows()
    {
        var failing = false;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/attribute", [Coalesce(MemoizeSeconds = 30, StaleIfErrorSeconds = 3600)] () =>
                    Volatile.Read(ref failing) ? Results.StatusCode(502) : Results.Text("attribute v1"));
                a.MapGet("/named", () => Volatile.Read(ref failing) ? Results.StatusCode(502) : Results.Text("named v1"))
                    .WithCoalescing("catalogue");
            },
            o => o.AddPolicy("catalogue", p => p.Memoize(Ttl).StaleIfError(TimeSpan.FromHours(1))));

        await app.Client.GetStringAsync("/attribute");
        await app.Client.GetStringAsync("/named");
        failing = true;
        app.Time.Advance(Ttl);

        Assert.Equal("attribute v1", await app.Client.GetStringAsync("/attribute"));
        Assert.Equal("named v1", await app.Client.GetStringAsync("/named"));
    }

    [Fact]
    public async Task Stale_responses_and_refreshes_are_measured()
    {
        var failing = false;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/m", () => Volatile.Read(ref failing) ? throw new TimeoutException("slow database") : "m v1")
                .WithCoalescing(p => p.Memoize(Ttl).StaleWhileRevalidate(TimeSpan.FromMinutes(1)).StaleIfError(TimeSpan.FromHours(1))));
        var factory = app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var requests = new MetricCollector<long>(factory, "Coalesce", "coalesce.server.requests");
        using var refreshes = new MetricCollector<long>(factory, "Coalesce", "coalesce.server.refreshes");

        await app.Client.GetStringAsync("/m");
        failing = true;
        app.Time.Advance(Ttl);
        Assert.Equal("m v1", await app.Client.GetStringAsync("/m"));
        await refreshes.WaitForMeasurementsAsync(1, TestApp.Patience);

        // Past the revalidate window, inside stale-if-error: the leader fails and gets it (counted as its failed
        // execution), then the endpoint rests and the next request gets it without running it.
        app.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("m v1", await app.Client.GetStringAsync("/m"));
        await app.WaitForNoFlightsAsync();
        Assert.Equal("m v1", await app.Client.GetStringAsync("/m"));

        var refresh = Assert.Single(refreshes.GetMeasurementSnapshot());
        Assert.Equal(typeof(TimeoutException).FullName, refresh.Tags["error.type"]);
        var results = requests.GetMeasurementSnapshot().Select(m => (string)m.Tags["coalesce.result"]!).ToArray();
        Assert.Contains("stale", results);
        Assert.Contains("stale_if_error", results);
    }

    private static string FirstKey(TestApp app) => app.Cache.Keys().Single();

    private static HttpRequestMessage Request(string url, string tenant, string user)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Tenant", tenant);
        request.Headers.Add("X-User", user);
        return request;
    }

    private sealed class ScopedMarker
    {
        public Guid Id { get; } = Guid.NewGuid();
    }

    /// <summary>Authenticates whoever the <c>X-User</c> header names.</summary>
    private sealed class HeaderUserHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (Request.Headers["X-User"] is not [{ } user])
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user), new Claim(ClaimTypes.NameIdentifier, user)], Scheme.Name);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}
