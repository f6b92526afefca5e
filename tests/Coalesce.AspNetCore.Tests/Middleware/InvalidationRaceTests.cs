using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// A read that started before a write: once the write's 2xx is out, nobody gets (or keeps) what that read saw.
/// Real Kestrel, the reads held at a gate so the interleaving is exact.
/// </summary>
public sealed class InvalidationRaceTests
{
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
                        firstRead.Enter();
                        await firstRead.WaitAsync();
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
                gate.Enter();
                await gate.WaitAsync();
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
