using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// The memo step: what is kept, for how long, under which tags and up to which size, and what is never kept.
/// Invalidation by writes is in <see cref="InvalidationTests"/>, stale responses in <see cref="StaleTests"/>.
/// </summary>
public sealed class ResponseMemoTests
{
    [Fact]
    public async Task A_memoized_endpoint_runs_its_handler_once_within_the_ttl_and_again_after_expiry()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(a => a.MapGet("/products", () => $"catalog v{Interlocked.Increment(ref executions)}")
            .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1))));

        Assert.Equal("catalog v1", await app.Client.GetStringAsync("/products"));
        app.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("catalog v1", await app.Client.GetStringAsync("/products"));
        Assert.Equal(1, executions);

        app.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("catalog v2", await app.Client.GetStringAsync("/products"));
        Assert.Equal(2, executions);

        var stats = app.Stats.GetSnapshot();
        Assert.Equal(1, stats.Requests.Hits);
        Assert.Equal(2, stats.Requests.Misses);
        Assert.Equal(1, stats.Cache.Size);
    }

    [Fact]
    public async Task A_hit_replays_status_content_headers_and_bytes_without_running_the_handler()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(a => a.MapGet("/products/{id}", (int id, HttpContext ctx) =>
        {
            Interlocked.Increment(ref executions);
            ctx.Response.Headers.ETag = $"\"v{id}\"";
            return Results.Json(new { id, name = $"Product {id}", tags = new[] { "a", "b" } });
        }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5))));

        var first = await app.Client.GetAsync("/products/7");
        var second = await app.Client.GetAsync("/products/7");

        Assert.Equal(1, executions);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal(first.Content.Headers.ContentType, second.Content.Headers.ContentType);
        Assert.Equal(first.Content.Headers.ContentLength, second.Content.Headers.ContentLength);
        Assert.Equal("\"v7\"", second.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task Concurrent_misses_run_the_handler_once()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/report", async () =>
        {
            await gate.EnterAndWaitAsync();
            return "expensive";
        }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1))));

        var requests = Enumerable.Range(0, 50).Select(_ => app.Client.GetStringAsync("/report")).ToArray();
        await app.WaitForFollowersAsync(49);
        gate.Open();

        Assert.All(await Task.WhenAll(requests), body => Assert.Equal("expensive", body));
        Assert.Equal("expensive", await app.Client.GetStringAsync("/report"));
        Assert.Equal(1, gate.Executions);
        Assert.Equal(50, app.Stats.GetSnapshot().Requests.Hits);
    }

    [Fact]
    public async Task Tags_computed_from_the_request_are_applied()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/tenants/{tenant}/report", (string tenant) => $"report for {tenant}")
            .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10)).Tag(ctx => $"tenant:{ctx.Request.RouteValues["tenant"]}")));

        await app.Client.GetStringAsync("/tenants/acme/report");
        await app.Client.GetStringAsync("/tenants/globex/report");

        Assert.Equal(1, await app.Cache.InvalidateByTagAsync("tenant:acme"));
        Assert.Equal(1, app.Cache.Count);
    }

    [Fact]
    public async Task A_tag_function_that_throws_costs_no_client_its_response_and_is_logged_once()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/things/{id}", async (string id) =>
            {
                var run = await gate.EnterAndWaitAsync();
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
    public async Task The_apps_MemoCache_keeps_responses_up_to_MemoMaxEntryBytes_and_serves_larger_ones_without_keeping_them()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/text/{length:int}", (int length) =>
            {
                Interlocked.Increment(ref executions);
                return new string('x', length);
            }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5))),
            o => (o.MemoMaxBytes, o.MemoMaxEntryBytes) = (1 << 20, 4096));
        var rejected = new List<string>();
        app.Cache.Rejected += (_, e) => rejected.Add($"{e.Key.Contains("/text/5000", StringComparison.Ordinal)} {e.Size > 5000} {e.Limit}");

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(1000, (await app.Client.GetStringAsync("/text/1000")).Length);
            Assert.Equal(5000, (await app.Client.GetStringAsync("/text/5000")).Length);
        }

        Assert.Equal(3, executions); // 1000 once, 5000 twice
        var stats = app.Cache.GetStats();
        Assert.Equal((1, 2), (stats.Size, stats.Rejections));
        Assert.InRange(stats.ApproximateBytes, 1000, 4096);
        Assert.Equal(["True True 4096", "True True 4096"], rejected);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(500)]
    [InlineData(302)]
    public async Task Non_success_responses_are_not_memoized(int status)
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(a => a.MapGet("/maybe", () =>
        {
            Interlocked.Increment(ref executions);
            return Results.StatusCode(status);
        }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10))));

        await app.Client.GetAsync("/maybe");
        await app.Client.GetAsync("/maybe");

        Assert.Equal(2, executions);
        Assert.Equal(0, app.Cache.Count);
    }

    [Fact]
    public async Task Streams_files_and_async_sequences_are_not_memoized()
    {
        var executions = 0;
        var file = Path.GetTempFileName();
        await File.WriteAllTextAsync(file, "file body");
        try
        {
            await using var app = await TestApp.StartAsync(a =>
            {
                Action<CoalescingPolicyBuilder> memo = p => p.Memoize(TimeSpan.FromMinutes(10));
                a.MapGet("/stream", () => { Interlocked.Increment(ref executions); return Results.Stream(new MemoryStream(Encoding.UTF8.GetBytes("stream body")), "text/plain"); })
                    .WithCoalescing(memo);
                a.MapGet("/file", () => { Interlocked.Increment(ref executions); return Results.File(file, "text/plain"); })
                    .WithCoalescing(memo);
                a.MapGet("/sendfile", async (HttpContext ctx) => { Interlocked.Increment(ref executions); await ctx.Response.SendFileAsync(file); })
                    .WithCoalescing(memo);
                a.MapGet("/sequence", () => { Interlocked.Increment(ref executions); return Numbers(); })
                    .WithCoalescing(memo);
            });

            foreach (var path in new[] { "/stream", "/file", "/sendfile", "/sequence" })
            {
                var first = await app.Client.GetStringAsync(path);

                await app.WaitForNoFlightsAsync();
                Assert.Equal(first, await app.Client.GetStringAsync(path));
            }

            Assert.Equal(8, executions);
            Assert.Equal(0, app.Cache.Count);
        }
        finally
        {
            File.Delete(file);
        }

        static async IAsyncEnumerable<int> Numbers()
        {
            for (var i = 0; i < 3; i++)
            {
                await Task.Yield();
                yield return i;
            }
        }
    }

    [Fact]
    public async Task An_attribute_marked_handler_declared_to_return_an_async_sequence_is_not_memoized()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(a => a.MapGet("/attr-sequence", [Coalesce(MemoizeSeconds = 60)] IAsyncEnumerable<int> () =>
        {
            Interlocked.Increment(ref executions);
            return Numbers();
        }));

        Assert.Equal("[1]", await app.Client.GetStringAsync("/attr-sequence"));
        Assert.Equal("[1]", await app.Client.GetStringAsync("/attr-sequence"));

        Assert.Equal(2, executions);
        Assert.Equal(0, app.Cache.Count);

        static async IAsyncEnumerable<int> Numbers()
        {
            await Task.Yield();
            yield return 1;
        }
    }

    [Fact]
    public async Task Responses_that_set_cookies_or_say_no_store_are_not_memoized()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/cookie", (HttpContext ctx) => { Interlocked.Increment(ref executions); ctx.Response.Cookies.Append("a", "b"); return "x"; })
                .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10)));
            a.MapGet("/nostore", (HttpContext ctx) => { Interlocked.Increment(ref executions); ctx.Response.Headers.CacheControl = "no-store"; return "x"; })
                .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10)));
        }, o => o.PassThroughDuration = TimeSpan.Zero);

        foreach (var path in new[] { "/cookie", "/cookie", "/nostore", "/nostore" })
        {
            await app.Client.GetStringAsync(path);
        }

        Assert.Equal(4, executions);
        Assert.Equal(0, app.Cache.Count);
    }

    [Fact]
    public async Task Memoized_responses_are_kept_apart_per_identity()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/me", (HttpContext ctx) => $"hello {ctx.Request.Headers.Authorization}")
            .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10))));

        foreach (var user in new[] { "alice", "bob", "alice", "bob" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/me");
            request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {user}");
            var response = await app.Client.SendAsync(request);
            Assert.Equal($"hello Bearer {user}", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(2, app.Cache.Count);
    }

    [Fact]
    public async Task Opt_in_mode_coalesces_only_marked_endpoints_and_the_attribute_marks_one()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/plain", async () => { await gate.EnterAndWaitAsync(); return "plain"; });
                a.MapGet("/marked", async () => { await gate.EnterAndWaitAsync(); return "marked"; }).WithCoalescing();
                a.MapGet("/attributed", [Coalesce(MemoizeSeconds = 60)] async () => { await gate.EnterAndWaitAsync(); return "attributed"; });
            },
            o => o.CoalesceAllGetRequests = false);

        var requests = new[] { "/plain", "/plain", "/marked", "/marked", "/attributed", "/attributed" }
            .Select(path => app.Client.GetStringAsync(path)).ToArray();
        await app.WaitForFollowersAsync(2);
        await gate.WaitForExecutionsAsync(4);
        gate.Open();
        await Task.WhenAll(requests);

        Assert.Equal(4, gate.Executions);
        Assert.Equal("attributed", await app.Client.GetStringAsync("/attributed"));
        Assert.Equal(4, gate.Executions);
    }
}
