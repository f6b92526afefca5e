using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Coalesce.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Http;

public class HttpFallbackAndStatsTests
{
    [Fact]
    public async Task With_the_primary_address_down_the_fallback_gets_the_same_path_query_headers_and_body()
    {
        await using var upstream = await KestrelUpstream.StartAsync(app => app.MapPost("/orders/{id}", async (HttpContext context, string id) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            return Results.Json(new
            {
                path = context.Request.Path.Value,
                query = context.Request.QueryString.Value,
                header = context.Request.Headers["X-Request-Id"].ToString(),
                contentType = context.Request.ContentType,
                body = await reader.ReadToEndAsync(),
            });
        }));
        var services = new ServiceCollection();
        services.AddHttpClient("orders", c => c.BaseAddress = new Uri($"http://127.0.0.1:{KestrelUpstream.ClosedPort()}/"))
            .AddCoalescing(o => o.FallbackBaseAddresses.Add(new Uri(upstream.Address.GetLeftPart(UriPartial.Authority))));
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("orders");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders/42?dryRun=true")
        {
            Content = JsonContent.Create(new { quantity = 3 }),
        };
        request.Headers.Add("X-Request-Id", "r-1");

        using var response = await client.SendAsync(request);
        var echo = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/orders/42", echo.GetProperty("path").GetString());
        Assert.Equal("?dryRun=true", echo.GetProperty("query").GetString());
        Assert.Equal("r-1", echo.GetProperty("header").GetString());
        Assert.StartsWith("application/json", echo.GetProperty("contentType").GetString(), StringComparison.Ordinal);
        Assert.Equal("{\"quantity\":3}", echo.GetProperty("body").GetString());
        var counts = provider.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients.Single();
        Assert.Equal((1L, 0L, 0L), (counts.Fallbacks, counts.Retries, counts.Errors));
    }

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

    [Fact]
    public async Task Invalid_options_stop_the_app_at_start_up_with_messages_that_name_the_option()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHttpClient("bad").AddCoalescing(o =>
        {
            o.Retry!.MaxRetryAttempts = 0;
            o.Retry.Delay = TimeSpan.FromSeconds(-1);
            o.TotalTimeout = TimeSpan.Zero;
            o.FallbackBaseAddresses.Add(new Uri("http://replica.test/api"));
            o.RateLimit = new HttpRateLimitOptions { PermitsPerSecond = 0 };
        });
        using var host = builder.Build();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(failure.Failures, f => f.Contains("HttpClient 'bad': Retry.MaxRetryAttempts is 0; it must be between 1 and 100 (set Retry to null for no retries).", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("Retry.Delay is -00:00:01", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("TotalTimeout is 00:00:00", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("FallbackBaseAddresses[0] is 'http://replica.test/api'", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("RateLimit.PermitsPerSecond is 0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Typed_clients_get_the_handler_too()
    {
        var network = new ScriptedHandler(sent => ScriptedHandler.Respond(HttpStatusCode.OK, "typed"));
        var services = new ServiceCollection();
        services.AddHttpClient<TypedWeatherClient>(c => c.BaseAddress = new Uri("http://typed.test"))
            .AddCoalescing()
            .ConfigurePrimaryHttpMessageHandler(() => network);
        await using var provider = services.BuildServiceProvider();

        var typed = provider.GetRequiredService<TypedWeatherClient>();

        Assert.Equal("typed", await typed.Http.GetStringAsync("/"));
        Assert.Equal(Timeout.InfiniteTimeSpan, typed.Http.Timeout);
        Assert.Contains(provider.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients, c => c.Name == nameof(TypedWeatherClient) && c.Misses == 1);
    }

    internal sealed class TypedWeatherClient(HttpClient http)
    {
        public HttpClient Http { get; } = http;
    }
}
