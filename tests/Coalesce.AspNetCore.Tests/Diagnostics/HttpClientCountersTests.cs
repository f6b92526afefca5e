using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Coalesce.AspNetCore.Tests.Http;
using Coalesce.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

/// <summary>Each HttpClient's counts: in the stats endpoint under <c>httpClients</c>, and on the Coalesce meter.</summary>
public sealed class HttpClientCountersTests
{
    [Fact]
    public async Task Per_client_stats_appear_under_httpClients_in_the_stats_endpoint_and_on_the_meter()
    {
        const string Name = "weather-stats";
        var gate = new Gate();
        var network = new ScriptedHandler(async sent =>
        {
            if (sent.Uri.AbsolutePath == "/ok")
            {
                await gate.EnterAndWaitAsync();
                return ScriptedHandler.Respond(HttpStatusCode.OK, "ok");
            }

            return sent.Uri.AbsolutePath == "/unreachable"
                ? throw new HttpRequestException(HttpRequestError.ConnectionError, "connection refused")
                : ScriptedHandler.Respond(HttpStatusCode.BadGateway);
        });
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<TimeProvider>(new ManualTimeProvider());
        builder.Services.AddRequestCoalescing();
        builder.Services.AddHttpClient(Name, c => c.BaseAddress = new Uri("http://weather.test"))
            .AddCoalescing(o =>
            {
                o.Retry!.MaxRetryAttempts = 1;
                o.Retry.Delay = TimeSpan.Zero;
                o.FallbackBaseAddresses.Add(new Uri("http://weather-backup.test"));
            })
            .ConfigurePrimaryHttpMessageHandler(() => network);
        await using var app = builder.Build();
        app.MapCoalescingStats();
        await app.StartAsync();
        var client = app.Services.GetRequiredService<IHttpClientFactory>().CreateClient(Name);
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        using var calls = new MetricCollector<long>(factory, "Coalesce", "coalesce.client.calls");
        using var executions = new MetricCollector<double>(factory, "Coalesce", "coalesce.client.execution.duration");
        using var waits = new MetricCollector<double>(factory, "Coalesce", "coalesce.client.wait.duration");
        using var retries = new MetricCollector<long>(factory, "Coalesce", "coalesce.resilience.retries");
        using var fallbacks = new MetricCollector<long>(factory, "Coalesce", "coalesce.resilience.fallbacks");
        using var inbound = new MetricCollector<long>(factory, "Coalesce", "coalesce.server.requests");

        var ok = new[] { client.GetStringAsync("/ok"), client.GetStringAsync("/ok") };
        await TestApp.WaitUntilAsync(() => app.Services.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients.Single().Hits == 1, "a follower");
        gate.Open();
        await Task.WhenAll(ok);
        using (var broken = await client.GetAsync("/broken"))
        {
            Assert.Equal(HttpStatusCode.BadGateway, broken.StatusCode);
        }

        await Assert.ThrowsAsync<HttpAllAttemptsFailedException>(() => client.GetAsync("/unreachable"));

        using var statsClient = app.GetTestClient();
        var stats = await statsClient.GetFromJsonAsync<JsonElement>("/_coalesce/stats");
        var entry = stats.GetProperty("httpClients").EnumerateArray().Single(c => c.GetProperty("name").GetString() == Name);
        Assert.Equal(1, entry.GetProperty("hits").GetInt64());
        Assert.Equal(3, entry.GetProperty("misses").GetInt64());
        Assert.Equal(1, entry.GetProperty("errors").GetInt64());
        Assert.Equal(0, entry.GetProperty("active").GetInt64());
        Assert.Equal(1.0 / 4, entry.GetProperty("hitRate").GetDouble(), 6);
        Assert.Equal(2, entry.GetProperty("retries").GetInt64());
        Assert.Equal(4, entry.GetProperty("fallbacks").GetInt64());

        // One measurement per call: the shared follower, and three executions (one of them failed).
        var counted = calls.GetMeasurementSnapshot();
        Assert.Equal("{call}", calls.Instrument!.Unit);
        Assert.All(counted, m =>
        {
            Assert.Equal(1, m.Value);
            Assert.Equal(Name, m.Tags["coalesce.client.name"]);
            Assert.Equal("GET", m.Tags["http.request.method"]);
        });
        Assert.Equal(["miss", "miss", "miss", "shared"], counted.Select(m => (string)m.Tags["coalesce.result"]!).Order());
        var failed = Assert.Single(counted, m => m.Tags.ContainsKey("error.type"));
        Assert.Equal(typeof(HttpAllAttemptsFailedException).FullName, failed.Tags["error.type"]);
        Assert.Equal(3, executions.GetMeasurementSnapshot().Count);
        Assert.Equal("s", executions.Instrument!.Unit);
        Assert.Single(waits.GetMeasurementSnapshot());
        Assert.Empty(inbound.GetMeasurementSnapshot());
        Assert.Equal(2, retries.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.Equal(4, fallbacks.GetMeasurementSnapshot().Sum(m => m.Value));
        Assert.All(fallbacks.GetMeasurementSnapshot(), m =>
        {
            Assert.Equal("http_client", m.Tags["coalesce.component"]);
            Assert.Equal(Name, m.Tags["coalesce.name"]);
        });
        await app.StopAsync();
    }
}
