using System.Net;
using Microsoft.AspNetCore.Builder;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

/// <summary>The stats endpoint's filter, its reset, and its rates over the last minute as the app's clock moves.</summary>
public sealed class StatsEndpointTests
{
    [Fact]
    public async Task The_endpoint_filter_takes_a_name_or_a_route_pattern_and_names_the_problem_otherwise()
    {
        await using var app = await StartAsync();
        await app.Client.GetStringAsync("/a/1");
        await app.SendAsync(HttpMethod.Head, "/a/1");
        await app.Client.GetStringAsync("/b");

        var byName = await StatsCountingTests.GetStatsAsync(app, "?endpoint=" + Uri.EscapeDataString("GET /a/{id}"));
        var byRoute = await StatsCountingTests.GetStatsAsync(app, "?endpoint=" + Uri.EscapeDataString("/a/{id}"));
        var unknown = await app.Client.GetAsync("/_coalesce/stats?endpoint=/nowhere");
        var empty = await app.Client.GetAsync("/_coalesce/stats?endpoint=");

        Assert.Equal(["GET /a/{id}"], byName.GetProperty("endpoints").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(["GET /a/{id}", "HEAD /a/{id}"], byRoute.GetProperty("endpoints").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(3, byName.GetProperty("requests").GetProperty("misses").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("No endpoint '/nowhere' has been counted. Give its name or its route pattern; counted so far: 'GET /a/{id}', 'GET /b', 'HEAD /a/{id}'.",
            await unknown.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Contains("'endpoint' query parameter", await empty.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_same_origin_POST_resets_the_counts_and_a_GET_or_a_cross_site_POST_never_does()
    {
        await using var app = await StartAsync();
        await app.Client.GetStringAsync("/memo");
        await app.Client.GetStringAsync("/memo");
        await app.Client.GetStringAsync("/b");

        await app.Client.GetAsync("/_coalesce/stats?reset");
        Assert.Equal(3, app.Stats.GetSnapshot().Requests.Hits + app.Stats.GetSnapshot().Requests.Misses);

        using var crossSite = new HttpRequestMessage(HttpMethod.Post, "/_coalesce/stats");
        crossSite.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "cross-site");
        var refused = await app.Client.SendAsync(crossSite);
        using var otherOrigin = new HttpRequestMessage(HttpMethod.Post, "/_coalesce/stats");
        otherOrigin.Headers.TryAddWithoutValidation("Origin", "https://evil.example");
        var refusedOrigin = await app.Client.SendAsync(otherOrigin);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("'cross-site' (Sec-Fetch-Site)", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, refusedOrigin.StatusCode);
        Assert.Contains("'https://evil.example'", await refusedOrigin.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(3, app.Stats.GetSnapshot().Requests.Hits + app.Stats.GetSnapshot().Requests.Misses);

        app.Time.Advance(TimeSpan.FromSeconds(5));
        using var sameOrigin = new HttpRequestMessage(HttpMethod.Post, "/_coalesce/stats");
        sameOrigin.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.NoContent, (await app.Client.SendAsync(sameOrigin)).StatusCode);

        var after = await StatsCountingTests.GetStatsAsync(app);
        StatsCountingTests.AssertOutcomes(after.GetProperty("requests"), memoHits: 0, collapsed: 0, misses: 0, bypasses: 0);
        Assert.All(after.GetProperty("endpoints").EnumerateArray(), e => StatsCountingTests.AssertOutcomes(e, 0, 0, 0, 0));
        Assert.Equal(0, after.GetProperty("cache").GetProperty("hits").GetInt64());
        Assert.Equal(0, after.GetProperty("cache").GetProperty("misses").GetInt64());
        Assert.Equal(1, after.GetProperty("cache").GetProperty("size").GetInt64());
        Assert.Equal(5, after.GetProperty("uptimeSeconds").GetDouble());
        Assert.Equal(0, after.GetProperty("countingSeconds").GetDouble());

        // Counting goes on from zero, and the memoized response is still there.
        await app.Client.GetStringAsync("/memo");
        var memo = Assert.Single(app.Stats.GetSnapshot().Endpoints, e => e.Route == "/memo");
        Assert.Equal(1, memo.MemoHits);
        Assert.Equal(1, memo.PerSecond!.MemoHits);
    }

    [Fact]
    public async Task Rates_per_second_cover_the_last_minute_of_the_apps_clock()
    {
        await using var app = await StartAsync();
        for (var i = 0; i < 30; i++)
        {
            await app.Client.GetStringAsync("/b");
            app.Time.Advance(TimeSpan.FromSeconds(1));
        }

        // 30 requests in the first 30 seconds: one a second, over 30 seconds.
        var early = app.Stats.GetSnapshot();
        Assert.Equal(30, early.Requests.PerSecond!.WindowSeconds);
        Assert.Equal(1, early.Requests.PerSecond.Misses);
        Assert.Equal(1, early.Requests.PerSecond.Requests);
        Assert.Equal(30, early.UptimeSeconds);

        // 30 seconds later, the same 30 requests over a full minute.
        for (var i = 0; i < 30; i++)
        {
            app.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var minute = app.Stats.GetSnapshot();
        Assert.Equal(60, minute.Requests.PerSecond!.WindowSeconds);
        Assert.Equal(0.5, minute.Requests.PerSecond.Misses);
        Assert.Equal(0.5, Assert.Single(minute.Endpoints).PerSecond!.Misses);

        // 15 seconds more: only the last 15 of those requests are in the last minute; the totals keep all 30.
        for (var i = 0; i < 15; i++)
        {
            app.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var later = app.Stats.GetSnapshot();
        Assert.Equal(60, later.Requests.PerSecond!.WindowSeconds);
        Assert.Equal(0.25, later.Requests.PerSecond.Misses);
        Assert.Equal(30, later.Requests.Misses);
        Assert.Equal(75, later.UptimeSeconds);

        for (var i = 0; i < 60; i++)
        {
            app.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(0, app.Stats.GetSnapshot().Requests.PerSecond!.Requests);
        Assert.Equal(30, app.Stats.GetSnapshot().Requests.Misses);
    }

    private static Task<TestApp> StartAsync() => TestApp.StartAsync(
        a =>
        {
            a.MapMethods("/a/{id}", ["GET", "HEAD"], (string id) => id);
            a.MapGet("/b", () => "b");
            a.MapGet("/memo", () => "memo").WithCoalescing(p => p.Memoize(TimeSpan.FromHours(1)));
            a.MapCoalescingStats();
        },
        kestrel: true);
}
