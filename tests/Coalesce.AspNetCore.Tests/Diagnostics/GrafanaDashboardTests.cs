using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Coalesce.AspNetCore.Tests.Sample;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using WebApi;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

/// <summary>
/// deploy/grafana/coalesce-dashboard.json queries only metrics an app exports: an app with the sample's telemetry (its
/// Prometheus scrape endpoint) and the Redis level on real Kestrel answers a workload that makes every instrument
/// report, and its <c>/metrics</c> holds every name the dashboard's queries use.
/// </summary>
public sealed partial class GrafanaDashboardTests
{
    [Fact]
    public async Task Every_metric_the_grafana_dashboard_queries_is_one_the_app_exports_to_prometheus()
    {
        var queried = DashboardMetricNames();
        Assert.NotEmpty(queried);

        var gate = new Gate();
        var burst = new Gate();
        await using var app = await StartSampleConfiguredAppAsync(gate, burst);
        await RunWorkloadAsync(app, gate, burst);

        var scrape = await app.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        var exported = ExportedMetricNames(await scrape.Content.ReadAsStringAsync());

        var missing = queried.Where(name => !exported.Contains(name)).ToList();
        Assert.True(missing.Count == 0,
            $"The dashboard queries metrics the app does not export: {string.Join(", ", missing)}.\nExported: {string.Join(", ", exported.Where(n => n.StartsWith("coalesce", StringComparison.Ordinal)).Order())}");
    }

    [Fact]
    public async Task The_sample_maps_the_prometheus_scrape_endpoint_uncoalesced()
    {
        await using var app = new SampleApp();
        await app.Client.GetStringAsync("/products/1");

        var first = await app.Client.GetStringAsync("/metrics");
        var second = await app.Client.GetStringAsync("/metrics");

        Assert.Contains("coalesce_server_requests_total{", first, StringComparison.Ordinal);
        Assert.Contains("http_route=\"/products/{id:int}\"", first, StringComparison.Ordinal);
        Assert.DoesNotContain(app.Stats.GetSnapshot().Endpoints, e => e.Route == "/metrics");
        Assert.NotNull(second);
    }

    [Fact]
    public void Every_panel_of_the_dashboard_has_a_title_and_a_query()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardPath()));
        var panels = dashboard.RootElement.GetProperty("panels").EnumerateArray().Where(p => p.GetProperty("type").GetString() != "row").ToList();
        Assert.All(panels, p => Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("title").GetString())));
        Assert.All(panels, p => Assert.NotEmpty(p.GetProperty("targets").EnumerateArray()));
        var titles = string.Join(" | ", panels.Select(p => p.GetProperty("title").GetString()));
        foreach (var topic in new[] { "Saved executions", "Hit rate", "Stale answers", "Refusals", "In flight", "Redis" })
        {
            Assert.Contains(topic, titles, StringComparison.Ordinal);
        }
    }

    private static async Task<TestApp> StartSampleConfiguredAppAsync(Gate gate, Gate burst) => await TestApp.StartAsync(
        a =>
        {
            a.MapGet("/memo", () => "memo").WithCoalescing(p => p.Memoize(TimeSpan.FromSeconds(10)).StaleWhileRevalidate(TimeSpan.FromMinutes(1)));
            a.MapGet("/tenant", async (HttpContext c) =>
            {
                var tenant = c.Request.Headers["X-Tenant"].ToString();
                await gate.EnterAndWaitAsync();
                return tenant;
            });
            a.MapGet("/burst", async () => $"burst #{await burst.EnterAndWaitAsync()}");
            a.MapGet("/via-client", async (IHttpClientFactory clients, HttpContext c) =>
                await clients.CreateClient("self").GetStringAsync(new Uri($"http://{c.Request.Host}/memo"))).DisableCoalescing();
            a.MapSampleTelemetry();
        },
        services: s =>
        {
            s.AddSampleTelemetry(new ConfigurationBuilder().Build());
            s.AddHttpClient("self").AddCoalescing();

            // Nothing listens there: the Redis level's instruments report an instance that is not connected.
            s.AddStackExchangeRedisCoalescing(o => o.Configuration = "127.0.0.1:1,connectTimeout=500");
        },
        kestrel: true);

    /// <summary>A miss, a memo hit, a stale answer with its refresh, a collapsed follower, a refusal and an outbound call.</summary>
    private static async Task RunWorkloadAsync(TestApp app, Gate gate, Gate burst)
    {
        var leader = app.Client.GetStringAsync("/burst");
        var follower = app.Client.GetStringAsync("/burst");
        await app.WaitForFollowersAsync(1);
        burst.Open();
        Assert.Equal(await leader, await follower);
        await app.WaitForNoFlightsAsync();
        await app.Client.GetStringAsync("/via-client");

        await app.Client.GetStringAsync("/memo");
        await app.Client.GetStringAsync("/memo");
        app.Time.Advance(TimeSpan.FromSeconds(11));
        await app.Client.GetStringAsync("/memo");
        await TestApp.WaitUntilAsync(() => app.Stats.GetSnapshot().Endpoints.Single(e => e.Route == "/memo").Refreshes == 1, "the refresh");

        // The endpoint reads X-Tenant before anyone knows: the follower with another tenant is refused, then runs.
        var first = app.SendTenantAsync("/tenant", "a");
        await gate.WaitForExecutionsAsync(1);
        var second = app.SendTenantAsync("/tenant", "b");
        await app.WaitForFollowersAsync(2);
        gate.Open();
        Assert.Equal("a", await (await first).Content.ReadAsStringAsync());
        Assert.Equal("b", await (await second).Content.ReadAsStringAsync());
        Assert.Equal(1, app.Stats.GetSnapshot().Endpoints.Single(e => e.Route == "/tenant").InputRefusals);
        await app.WaitForNoFlightsAsync();
    }

    /// <summary>
    /// Every metric name in the dashboard's PromQL: the <c>coalesce_</c> identifiers a selector's braces follow (the
    /// dashboard always writes them with a selector; the other <c>coalesce_</c> identifiers are labels).
    /// </summary>
    private static List<string> DashboardMetricNames()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardPath()));
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            if (!panel.TryGetProperty("targets", out var targets))
            {
                continue;
            }

            foreach (var target in targets.EnumerateArray())
            {
                foreach (Match match in MetricName().Matches(target.GetProperty("expr").GetString()!))
                {
                    names.Add(match.Value);
                }
            }
        }

        return [.. names];
    }

    /// <summary>The metric names of a Prometheus text exposition (a histogram's series as the exposition names them).</summary>
    private static HashSet<string> ExportedMetricNames(string exposition) =>
        [.. exposition.Split('\n')
            .Where(line => line.Length > 0 && line[0] != '#')
            .Select(line => line[..line.IndexOfAny(['{', ' '])])];

    private static string DashboardPath() => Path.Combine(AppContext.BaseDirectory, "deploy", "grafana", "coalesce-dashboard.json");

    [GeneratedRegex(@"\bcoalesce_[a-z0-9_]+(?=\{)")]
    private static partial Regex MetricName();
}

internal static class TenantRequests
{
    public static Task<HttpResponseMessage> SendTenantAsync(this TestApp app, string url, string tenant)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Tenant", tenant);
        return app.Client.SendAsync(request);
    }
}
