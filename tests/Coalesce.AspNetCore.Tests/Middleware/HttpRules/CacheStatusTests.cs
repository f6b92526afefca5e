using Microsoft.AspNetCore.Builder;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>The <c>Cache-Status</c> header, on real Kestrel: how each response was served, and off unless asked for.</summary>
public sealed class CacheStatusTests
{
    [Fact]
    public async Task Cache_Status_says_how_each_response_was_served()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/memo", async () =>
                {
                    await gate.EnterAndWaitAsync();
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
