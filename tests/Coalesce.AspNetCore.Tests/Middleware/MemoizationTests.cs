using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore.Tests.Middleware;

public sealed class MemoizationTests
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
            gate.Enter();
            await gate.WaitAsync();
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
    public async Task A_successful_mutation_invalidates_its_tags_and_a_failed_one_does_not()
    {
        var version = 1;
        var executions = 0;
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/products", () => { Interlocked.Increment(ref executions); return $"v{Volatile.Read(ref version)}"; })
                .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10)).Tag("products"));
            a.MapPost("/products", (bool fail) =>
            {
                if (fail)
                {
                    return Results.BadRequest("rejected");
                }

                Interlocked.Increment(ref version);
                return Results.Created("/products/99", null);
            }).InvalidatesTags("products");
        });

        Assert.Equal("v1", await app.Client.GetStringAsync("/products"));

        var failed = await app.Client.PostAsync("/products?fail=true", null);
        Assert.Equal(HttpStatusCode.BadRequest, failed.StatusCode);
        Assert.Equal("v1", await app.Client.GetStringAsync("/products"));
        Assert.Equal(1, executions);

        var created = await app.Client.PostAsync("/products?fail=false", null);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("v2", await app.Client.GetStringAsync("/products"));
        Assert.Equal(2, executions);
    }

    [Fact]
    public async Task A_mutation_that_throws_invalidates_nothing()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/products", () => $"v{Interlocked.Increment(ref executions)}")
                    .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10)).Tag("products"));
                a.MapDelete("/products", IResult () => throw new InvalidOperationException("db down")).InvalidatesTags("products");
            },
            beforeCoalescing: a => a.UseExceptionHandler(e => e.Run(ctx => { ctx.Response.StatusCode = 500; return Task.CompletedTask; })));

        Assert.Equal("v1", await app.Client.GetStringAsync("/products"));
        Assert.Equal(HttpStatusCode.InternalServerError, (await app.Client.DeleteAsync("/products")).StatusCode);
        Assert.Equal("v1", await app.Client.GetStringAsync("/products"));
    }

    [Fact]
    public async Task Invalidation_happens_before_the_mutations_response_is_sent()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/products/{id}", (int id) => $"product {id}")
                .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10)).Tag("product:{id}"));
            a.MapPut("/products/{id}", async (int id, HttpContext ctx) =>
            {
                // The client's 2xx is in flight the moment the body starts: the entry must already be gone.
                await ctx.Response.StartAsync();
                var cache = (MemoCache)ctx.RequestServices.GetService(typeof(MemoCache))!;
                await ctx.Response.WriteAsync(cache.Count == 0 ? "evicted before sending" : "still cached");
            }).InvalidatesTags("product:{id}");
        });

        await app.Client.GetStringAsync("/products/1");
        var put = await app.Client.PutAsync("/products/1", null);

        Assert.Equal("evicted before sending", await put.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Request_derived_tags_evict_only_that_item()
    {
        var executions = new int[4];
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/products/{id:int}", (int id) => $"product {id} v{Interlocked.Increment(ref executions[id])}")
                .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(10)).Tag("products", "product:{id}"));
            a.MapPut("/products/{id:int}", (int id) => Results.NoContent()).InvalidatesTags("product:{id}");
        });

        foreach (var id in new[] { 1, 2, 3 })
        {
            Assert.Equal($"product {id} v1", await app.Client.GetStringAsync($"/products/{id}"));
        }

        Assert.Equal(HttpStatusCode.NoContent, (await app.Client.PutAsync("/products/2", null)).StatusCode);

        Assert.Equal("product 1 v1", await app.Client.GetStringAsync("/products/1"));
        Assert.Equal("product 2 v2", await app.Client.GetStringAsync("/products/2"));
        Assert.Equal("product 3 v1", await app.Client.GetStringAsync("/products/3"));
        Assert.Equal(1, await app.Cache.InvalidateByTagAsync("products") - 2);
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
                a.MapGet("/plain", async () => { gate.Enter(); await gate.WaitAsync(); return "plain"; });
                a.MapGet("/marked", async () => { gate.Enter(); await gate.WaitAsync(); return "marked"; }).WithCoalescing();
                a.MapGet("/attributed", [Coalesce(MemoizeSeconds = 60)] async () => { gate.Enter(); await gate.WaitAsync(); return "attributed"; });
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
