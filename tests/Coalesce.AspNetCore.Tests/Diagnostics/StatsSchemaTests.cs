using System.Text.Json;
using System.Text.Json.Nodes;
using Coalesce.AspNetCore.Tests.Sample;
using Json.Schema;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

/// <summary>docs/stats.schema.json describes what the stats endpoint really answers, field for field.</summary>
public sealed class StatsSchemaTests
{
    private static readonly Lazy<JsonSchema> Schema = new(() =>
        JsonSchema.FromText(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "stats.schema.json"))));

    [Fact]
    public async Task The_stats_of_an_app_on_kestrel_match_the_schema_in_the_docs()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/burst", async () => $"burst #{await gate.EnterAndWaitAsync()}");
                a.MapGet("/memo/{id}", (string id) => id).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)));
                a.MapGet("/stale", () => "stale").WithCoalescing(p => p.Memoize(TimeSpan.FromSeconds(10)).StaleWhileRevalidate(TimeSpan.FromMinutes(1)));
                a.MapGet("/tenant", (HttpContext c) => c.Request.Headers["X-Tenant"].ToString());
                a.MapGet("/via-client", async (IHttpClientFactory clients, HttpContext c) =>
                    await clients.CreateClient("self").GetStringAsync(new Uri($"http://{c.Request.Host}/memo/9"))).DisableCoalescing();
                a.MapCoalescingStats();
            },
            services: s => s.AddHttpClient("self").AddCoalescing(),
            kestrel: true);

        var burst = Enumerable.Range(0, 20).Select(_ => app.Client.GetStringAsync("/burst")).ToArray();
        await app.WaitForFollowersAsync(19);
        gate.Open();
        await Task.WhenAll(burst);
        await app.WaitForNoFlightsAsync();
        await app.Client.GetStringAsync("/memo/1");
        await app.Client.GetStringAsync("/memo/1");
        await app.Client.GetStringAsync("/stale");
        app.Time.Advance(TimeSpan.FromSeconds(11));
        await app.Client.GetStringAsync("/stale");
        await app.SendAsync(HttpMethod.Get, "/tenant", accept: "text/plain");
        await app.Client.GetStringAsync("/via-client");
        app.Time.Advance(TimeSpan.FromSeconds(3));

        var document = await ReadAsync(app.Client, "/_coalesce/stats");
        AssertValid(document);
        Assert.NotEmpty(document.GetProperty("httpClients").EnumerateArray());
        Assert.Contains(document.GetProperty("endpoints").EnumerateArray(), e => e.GetProperty("staleAnswers").GetInt64() == 1);
        AssertValid(await ReadAsync(app.Client, "/_coalesce/stats?endpoint=" + Uri.EscapeDataString("/memo/{id}")));
    }

    [Fact]
    public async Task The_samples_stats_match_the_schema_in_the_docs()
    {
        await using var app = new SampleApp();
        await app.Client.GetStringAsync("/products/1");
        await app.Client.GetStringAsync("/products/1");
        await app.Client.GetStringAsync("/weather/oslo");

        AssertValid(await ReadAsync(app.Client, "/_coalesce/stats"));
    }

    [Fact]
    public void The_schema_refuses_a_field_it_does_not_document_and_an_unrounded_rate()
    {
        var snapshot = new CoalescingStatsRegistry(new MemoCache()).GetSnapshot();
        var valid = JsonSerializer.SerializeToNode(snapshot, CoalescingJsonContext.Default.CoalescingStatsSnapshot)!.AsObject();
        AssertValid(JsonSerializer.SerializeToElement(valid));

        var extra = valid.DeepClone().AsObject();
        extra["requests"]!.AsObject().Add("hitsPerMinute", 1);
        var unrounded = valid.DeepClone().AsObject();
        unrounded["cache"]!["hitRate"] = 3.9993601023836184e-05;

        Assert.False(Schema.Value.Evaluate(JsonSerializer.SerializeToElement(extra)).IsValid);
        Assert.False(Schema.Value.Evaluate(JsonSerializer.SerializeToElement(unrounded)).IsValid);
    }

    private static async Task<JsonElement> ReadAsync(HttpClient client, string url)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync(url));
        return json.RootElement.Clone();
    }

    private static void AssertValid(JsonElement document)
    {
        var result = Schema.Value.Evaluate(document, new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (result.Details ?? [])
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}"));
        Assert.True(result.IsValid, "The stats do not match docs/stats.schema.json:\n" + string.Join('\n', errors) + "\n" + document);
    }
}
