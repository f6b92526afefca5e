using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

/// <summary>
/// What <c>/_coalesce/stats</c> says after real traffic over loopback Kestrel: each request counted once, in one
/// outcome, and the memo cache's figures told by the same outcomes.
/// </summary>
public sealed class StatsCountingTests
{
    [Fact]
    public async Task Two_hundred_requests_sharing_one_execution_are_one_cache_miss_and_199_collapsed_followers()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/products/{id}", async (string id) => $"product {id} #{await gate.EnterAndWaitAsync()}")
                    .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)));
                a.MapCoalescingStats();
            },
            kestrel: true);

        var burst = Enumerable.Range(0, 200).Select(_ => app.Client.GetStringAsync("/products/7")).ToArray();
        await app.WaitForFollowersAsync(199);
        gate.Open();
        Assert.All(await Task.WhenAll(burst), body => Assert.Equal("product 7 #1", body));
        await app.WaitForNoFlightsAsync();

        var stats = await GetStatsAsync(app);
        var cache = stats.GetProperty("cache");
        Assert.Equal(0, cache.GetProperty("hits").GetInt64());
        Assert.Equal(1, cache.GetProperty("misses").GetInt64());
        var endpoint = Assert.Single(stats.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("GET /products/{id}", endpoint.GetProperty("name").GetString());
        Assert.Equal("GET", endpoint.GetProperty("method").GetString());
        Assert.Equal("/products/{id}", endpoint.GetProperty("route").GetString());
        AssertOutcomes(endpoint, memoHits: 0, collapsed: 199, misses: 1, bypasses: 0);
        Assert.Equal(0.995, endpoint.GetProperty("hitRate").GetDouble());
        AssertOutcomes(stats.GetProperty("requests"), memoHits: 0, collapsed: 199, misses: 1, bypasses: 0);

        // The next one is answered by the memo: the cache's figures and the endpoint's agree on it.
        Assert.Equal("product 7 #1", await app.Client.GetStringAsync("/products/7"));
        stats = await GetStatsAsync(app);
        cache = stats.GetProperty("cache");
        Assert.Equal(1, cache.GetProperty("hits").GetInt64());
        Assert.Equal(1, cache.GetProperty("misses").GetInt64());
        Assert.Equal(0.5, cache.GetProperty("hitRate").GetDouble());
        Assert.True(cache.GetProperty("bytes").GetInt64() > 0);
        AssertOutcomes(Assert.Single(stats.GetProperty("endpoints").EnumerateArray()), memoHits: 1, collapsed: 199, misses: 1, bypasses: 0);
    }

    [Fact]
    public async Task Ranged_and_conditional_requests_that_run_alone_are_bypasses_not_misses()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/report", () => "the whole report");
                a.MapGet("/slow", async () => $"slow #{await gate.EnterAndWaitAsync()}");
                a.MapCoalescingStats();
            },
            kestrel: true);

        using var ranged = new HttpRequestMessage(HttpMethod.Get, "/report");
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 3);
        await (await app.Client.SendAsync(ranged)).Content.ReadAsStringAsync();
        using var conditional = new HttpRequestMessage(HttpMethod.Get, "/report");
        conditional.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\"");
        Assert.Equal(HttpStatusCode.OK, (await app.Client.SendAsync(conditional)).StatusCode);

        // A conditional request that finds a flight follows it: collapsed, answered for its own request.
        var leader = app.Client.GetStringAsync("/slow");
        await gate.WaitForExecutionsAsync(1);
        using var follower = new HttpRequestMessage(HttpMethod.Get, "/slow");
        follower.Headers.TryAddWithoutValidation("If-None-Match", "\"other\"");
        var followed = app.Client.SendAsync(follower);
        await app.WaitForFollowersAsync(1);
        gate.Open();
        Assert.Equal("slow #1", await leader);
        Assert.Equal("slow #1", await (await followed).Content.ReadAsStringAsync());
        await app.WaitForNoFlightsAsync();

        var stats = await GetStatsAsync(app);
        var endpoints = stats.GetProperty("endpoints").EnumerateArray().ToList();
        AssertOutcomes(endpoints.Single(e => e.GetProperty("route").GetString() == "/report"), memoHits: 0, collapsed: 0, misses: 0, bypasses: 2);
        Assert.Equal(0, endpoints.Single(e => e.GetProperty("route").GetString() == "/report").GetProperty("hitRate").GetDouble());
        AssertOutcomes(endpoints.Single(e => e.GetProperty("route").GetString() == "/slow"), memoHits: 0, collapsed: 1, misses: 1, bypasses: 0);
        AssertOutcomes(stats.GetProperty("requests"), memoHits: 0, collapsed: 1, misses: 1, bypasses: 2);
        Assert.Equal(0, stats.GetProperty("cache").GetProperty("misses").GetInt64());
    }

    [Fact]
    public async Task Every_fraction_is_rounded_to_four_decimals()
    {
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/a", () => "a");
                a.MapCoalescingStats();
            },
            kestrel: true);
        for (var i = 0; i < 3; i++)
        {
            await app.Client.GetStringAsync("/a");
            await app.WaitForNoFlightsAsync();
        }

        // 3 requests over a 7-second window: 0.428571... a second.
        for (var i = 0; i < 7; i++)
        {
            app.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var text = await app.Client.GetStringAsync("/_coalesce/stats");
        using var json = JsonDocument.Parse(text);
        var perSecond = json.RootElement.GetProperty("requests").GetProperty("perSecond");
        Assert.Equal(7, perSecond.GetProperty("windowSeconds").GetDouble());
        Assert.Equal(0.4286, perSecond.GetProperty("misses").GetDouble());
        Assert.Contains("\"misses\":0.4286", text, StringComparison.Ordinal);
        Assert.DoesNotContain("e-", text, StringComparison.OrdinalIgnoreCase);
        AssertAllNumbersRounded(json.RootElement);
    }

    internal static async Task<JsonElement> GetStatsAsync(TestApp app, string query = "")
    {
        var response = await app.Client.GetAsync("/_coalesce/stats" + query);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }

    internal static void AssertOutcomes(JsonElement figures, long memoHits, long collapsed, long misses, long bypasses)
    {
        Assert.Equal(memoHits, figures.GetProperty("memoHits").GetInt64());
        Assert.Equal(collapsed, figures.GetProperty("collapsed").GetInt64());
        Assert.Equal(misses, figures.GetProperty("misses").GetInt64());
        Assert.Equal(bypasses, figures.GetProperty("bypasses").GetInt64());
        Assert.Equal(memoHits + collapsed + figures.GetProperty("staleAnswers").GetInt64(), figures.GetProperty("hits").GetInt64());
    }

    private static void AssertAllNumbersRounded(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    AssertAllNumbersRounded(property.Value);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    AssertAllNumbersRounded(item);
                }

                break;
            case JsonValueKind.Number:
                var value = element.GetDouble();
                Assert.Equal(Math.Round(value, 4), value);
                break;
        }
    }
}
