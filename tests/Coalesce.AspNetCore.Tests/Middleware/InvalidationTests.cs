using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// Writes that invalidate tags (<c>InvalidatesTags</c>): only a successful one, before its response is sent, and only
/// what its tags cover. Then a read that started before a write: once the write's 2xx is out, nobody gets (or keeps)
/// what that read saw — real Kestrel, the reads held at a gate so the interleaving is exact.
/// </summary>
public sealed class InvalidationTests
{
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

    public enum Writer
    {
        InvalidatesTags,
        MemoCacheByTag,
        MemoCachePattern,
        MemoCacheClear,
    }

    [Theory]
    [InlineData(Writer.InvalidatesTags, true)]
    [InlineData(Writer.InvalidatesTags, false)]
    [InlineData(Writer.MemoCacheByTag, true)]
    [InlineData(Writer.MemoCachePattern, true)]
    [InlineData(Writer.MemoCacheClear, true)]
    public async Task A_flight_that_read_before_a_write_is_neither_joined_nor_kept_after_the_writes_2xx(Writer writer, bool memoize)
    {
        var version = 1;
        var firstRead = new Gate();
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                var read = a.MapGet("/items/{id}", async (string id) =>
                {
                    var seen = Volatile.Read(ref version);
                    if (Interlocked.Increment(ref runs) == 1)
                    {
                        await firstRead.EnterAndWaitAsync();
                    }

                    return $"item {id} v{seen}";
                });
                read.WithCoalescing(p =>
                {
                    p.Tag("item:{id}");
                    if (memoize)
                    {
                        p.Memoize(TimeSpan.FromMinutes(10));
                    }
                });

                var write = a.MapPut("/items/{id}", async (string id, MemoCache cache) =>
                {
                    Interlocked.Increment(ref version);
                    switch (writer)
                    {
                        case Writer.MemoCacheByTag:
                            await cache.InvalidateByTagAsync($"item:{id}");
                            break;
                        case Writer.MemoCachePattern:
                            await cache.InvalidateByPatternAsync($"*/items/{id}*");
                            break;
                        case Writer.MemoCacheClear:
                            await cache.ClearAsync();
                            break;
                    }

                    return Results.Ok("saved");
                });
                if (writer == Writer.InvalidatesTags)
                {
                    write.InvalidatesTags("item:{id}");
                }
            },
            kestrel: true);

        // A read starts and sees v1, then stalls; a follower joins it before the write.
        var staleRead = app.Client.GetStringAsync("/items/7");
        await firstRead.WaitForExecutionsAsync(1);
        var concurrentRead = app.Client.GetStringAsync("/items/7");
        await app.WaitForFollowersAsync(1);

        // The write commits and answers 2xx while that read is still in flight.
        using (var put = await app.Client.PutAsync("/items/7", null))
        {
            put.EnsureSuccessStatusCode();
        }

        // A read after the 2xx starts a fresh flight and sees v2 at once.
        Assert.Equal("item 7 v2", await app.Client.GetStringAsync("/items/7"));

        // The old flight finishes with v1 for the two requests that were concurrent with the write ...
        firstRead.Open();
        Assert.Equal("item 7 v1", await staleRead);
        Assert.Equal("item 7 v1", await concurrentRead);

        // ... and v1 is not what anyone reads from now on.
        await app.WaitForNoFlightsAsync();
        Assert.Equal("item 7 v2", await app.Client.GetStringAsync("/items/7"));
        Assert.Equal(memoize ? 2 : 3, Volatile.Read(ref runs));
        Assert.Equal(0, app.Flights.InFlightCount);
    }

    [Fact]
    public async Task An_invalidation_reaches_only_the_flights_it_covers()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a =>
            a.MapGet("/items/{id}", async (string id) =>
            {
                await gate.EnterAndWaitAsync();
                return $"item {id}";
            }).WithCoalescing(p => p.Tag("item:{id}").Memoize(TimeSpan.FromMinutes(10))));

        var one = app.Client.GetStringAsync("/items/1");
        var two = app.Client.GetStringAsync("/items/2");
        await gate.WaitForExecutionsAsync(2);
        await app.Cache.InvalidateByTagAsync("item:1");

        // item:2's flight is still joinable; item:1's is not.
        var twoAgain = app.Client.GetStringAsync("/items/2");
        await app.WaitForFollowersAsync(1);
        var oneAgain = app.Client.GetStringAsync("/items/1");
        await gate.WaitForExecutionsAsync(3);
        gate.Open();
        await Task.WhenAll(one, two, twoAgain, oneAgain);

        Assert.Equal(3, gate.Executions);
        Assert.True(app.Cache.TryGet<object>(app.Cache.Keys("*/items/2*").Single(), out _));
        Assert.Single(app.Cache.Keys("*/items/1*"));
    }
}
