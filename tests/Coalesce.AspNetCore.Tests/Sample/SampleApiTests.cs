using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Coalesce.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using WebApi.Catalog;
using WebApi.Upstream;

namespace Coalesce.AspNetCore.Tests.Sample;

public sealed class SampleApiTests
{
    [Fact]
    public async Task A_product_is_served_as_json()
    {
        await using var app = new SampleApp();

        var response = await app.Client.GetAsync("/products/1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var product = await response.Content.ReadFromJsonAsync<Product>();
        Assert.Equal(new Product(1, "The Pragmatic Programmer", "books", 39.95m), product);
    }

    [Fact]
    public async Task An_unknown_product_is_a_404_problem()
    {
        await using var app = new SampleApp();

        var response = await app.Client.GetAsync("/products/999");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Concurrent_reads_of_one_product_query_the_store_once()
    {
        await using var app = new SampleApp();

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => app.Client.GetStringAsync("/products/2")));

        // Whoever arrived while the first read ran joined it; whoever came later hit the memoized response.
        Assert.Equal(1, app.Store.Queries);
        Assert.All(responses, body => Assert.Equal(responses[0], body));
        var endpoint = Assert.Single(app.Stats.GetSnapshot().Endpoints, e => e.Name == "GET /products/{id:int}");
        Assert.Equal(1, endpoint.Misses);
        Assert.Equal(49, endpoint.Hits);
    }

    [Fact]
    public async Task The_catalogue_keeps_answering_with_stale_responses_while_its_database_is_switched_off()
    {
        var time = new ManualTimeProvider();
        await using var app = new SampleApp(services: s => s.AddSingleton<TimeProvider>(time));
        var product = await app.Client.GetStringAsync("/products/2");
        var books = await app.Client.GetStringAsync("/products?category=books");
        var configuration = app.Services.GetRequiredService<IConfiguration>();

        configuration[ProductStore.OnlineKey] = "false";
        time.Advance(ProductEndpoints.MemoizeFor + ProductEndpoints.RevalidateFor + TimeSpan.FromSeconds(1));

        var stale = await app.Client.GetAsync("/products/2");
        Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        Assert.Equal(product, await stale.Content.ReadAsStringAsync());
        Assert.Equal(TimeSpan.FromSeconds(91), stale.Headers.Age);
        Assert.Contains("detail=stale-if-error", Assert.Single(stale.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);
        Assert.Equal(books, await app.Client.GetStringAsync("/products?category=books"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await app.Client.GetAsync("/products/3")).StatusCode);

        configuration[ProductStore.OnlineKey] = "true";
        time.Advance(TimeSpan.FromSeconds(5));
        var fresh = await app.Client.GetAsync("/products/2");
        Assert.Null(fresh.Headers.Age);
        Assert.Equal("Coalesce; fwd=miss", Assert.Single(fresh.Headers.GetValues("Cache-Status")));
        Assert.Equal(1, app.Stats.GetSnapshot().Endpoints.Single(e => e.Name == "GET /products/{id:int}").StaleOnError);
    }

    [Fact]
    public async Task A_memoized_read_does_not_query_the_store_again()
    {
        await using var app = new SampleApp();

        var first = await app.Client.GetStringAsync("/products/3");
        var second = await app.Client.GetStringAsync("/products/3");

        Assert.Equal(first, second);
        Assert.Equal(1, app.Store.Queries);
        Assert.Equal(1, app.Stats.GetSnapshot().Cache.Hits);
    }

    [Fact]
    public async Task A_successful_update_evicts_the_product_and_the_lists_so_the_next_reads_see_it()
    {
        await using var app = new SampleApp();
        await app.Client.GetStringAsync("/products/4");
        await app.Client.GetStringAsync("/products?category=games");

        var put = await app.Client.PutAsJsonAsync("/products/4", new { name = "Chess set, deluxe", category = "games", price = 35m });

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var product = await app.Client.GetFromJsonAsync<Product>("/products/4");
        Assert.Equal(new Product(4, "Chess set, deluxe", "games", 35m), product);
        var games = await app.Client.GetFromJsonAsync<Product[]>("/products?category=games");
        Assert.Contains(games!, p => p.Name == "Chess set, deluxe");
    }

    [Fact]
    public async Task A_failed_update_evicts_nothing()
    {
        await using var app = new SampleApp();
        await app.Client.GetStringAsync("/products/5");

        var put = await app.Client.PutAsJsonAsync("/products/5", new { name = "", category = "games", price = 1m });
        var again = await app.Client.GetStringAsync("/products/5");

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Contains("Go board", again, StringComparison.Ordinal);
        Assert.Equal(1, app.Store.Queries);
    }

    [Fact]
    public async Task Updating_an_unknown_product_is_a_404()
    {
        await using var app = new SampleApp();

        var put = await app.Client.PutAsJsonAsync("/products/999", new { name = "Ghost", category = "games", price = 1m });

        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
    }

    [Fact]
    public async Task A_created_product_appears_in_its_category_list_at_once()
    {
        await using var app = new SampleApp();
        var before = await app.Client.GetFromJsonAsync<Product[]>("/products?category=tools");

        var post = await app.Client.PostAsJsonAsync("/products", new { name = "Oscilloscope", category = "tools", price = 399m });

        Assert.Equal(HttpStatusCode.Created, post.StatusCode);
        var created = await post.Content.ReadFromJsonAsync<Product>();
        Assert.Equal($"/products/{created!.Id}", post.Headers.Location?.AbsolutePath);
        var after = await app.Client.GetFromJsonAsync<Product[]>("/products?category=tools");
        Assert.Equal(before!.Length + 1, after!.Length);
        Assert.Contains(after, p => p.Id == created.Id);
    }

    [Theory]
    [InlineData("{\"name\":\"\",\"category\":\"tools\",\"price\":1}", "name")]
    [InlineData("{\"name\":\"Saw\",\"price\":1}", "category")]
    [InlineData("{\"name\":\"Saw\",\"category\":\"tools\",\"price\":-5}", "price")]
    [InlineData("{\"name\":\"Saw\",\"category\":\"tools\"}", "price")]
    public async Task Invalid_products_are_rejected_with_a_400_validation_problem(string body, string field)
    {
        await using var app = new SampleApp();

        var response = await app.Client.PostAsync("/products", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), $"No error for '{field}'.");
        Assert.Equal(0, app.Store.Queries);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_a_400_problem()
    {
        await using var app = new SampleApp();

        var response = await app.Client.PostAsync("/products", new StringContent("not json", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Products_are_listed_by_category_and_each_category_is_memoized_apart()
    {
        await using var app = new SampleApp();

        var books = await app.Client.GetFromJsonAsync<Product[]>("/products?category=books");
        var tools = await app.Client.GetFromJsonAsync<Product[]>("/products?category=TOOLS");
        var all = await app.Client.GetFromJsonAsync<Product[]>("/products");
        await app.Client.GetFromJsonAsync<Product[]>("/products?category=books&ignored=1");

        Assert.Equal(3, books!.Length);
        Assert.All(books, p => Assert.Equal("books", p.Category));
        Assert.Equal(3, tools!.Length);
        Assert.Equal(8, all!.Length);
        Assert.Equal(3, app.Store.Queries);
    }

    [Fact]
    public async Task Weather_comes_from_the_upstream_through_the_named_client()
    {
        await using var app = new SampleApp(upstreamFailureRate: 0);

        var report = await app.Client.GetFromJsonAsync<WeatherReport>("/weather/Oslo");

        Assert.Equal("Oslo", report!.City);
        Assert.Equal("primary", report.Source);
        Assert.Equal(1, app.Upstream.Calls);
    }

    [Fact]
    public async Task A_failing_upstream_falls_back_to_the_fallback_origin_within_the_same_attempt()
    {
        await using var app = new SampleApp(upstreamFailureRate: 1);

        var report = await app.Client.GetFromJsonAsync<WeatherReport>("/weather/Bergen");

        Assert.Equal("Bergen", report!.City);
        Assert.Equal("fallback", report.Source);
        Assert.Equal(1, app.Upstream.Failures);
        var weather = Assert.Single(app.Stats.GetSnapshot().HttpClients);
        Assert.Equal("weather", weather.Name);
        Assert.Equal(1, weather.Fallbacks);
        Assert.Equal(0, weather.Retries);
    }

    [Fact]
    public async Task When_the_fallback_origin_fails_too_the_client_retries_and_the_stats_show_both()
    {
        await using var app = new SampleApp(upstreamFailureRate: 1, fallbackFailureRate: 1);

        var response = await app.Client.GetAsync("/weather/Alta");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var weather = Assert.Single(app.Stats.GetSnapshot().HttpClients);
        Assert.Equal(2, weather.Retries);
        Assert.Equal(3, weather.Fallbacks);
        Assert.Equal(3, app.Upstream.Calls);
    }

    [Fact]
    public async Task OpenTelemetry_exports_the_Coalesce_meter_and_the_requests_traces()
    {
        var metrics = new NameExporter<Metric>(static m => m.Name);
        var spans = new NameExporter<Activity>(static a => a.DisplayName);
        await using var app = new SampleApp(services: s => s
            .ConfigureOpenTelemetryMeterProvider(m => m.AddReader(new BaseExportingMetricReader(metrics)))
            .ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(new SimpleActivityExportProcessor(spans))));

        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/products/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await app.Client.GetAsync("/weather/Oslo")).StatusCode);
        // The sample's Prometheus reader collects only when scraped, so the flush as a whole answers false; this test's
        // reader is flushed all the same, and its names are checked below.
        app.Services.GetRequiredService<MeterProvider>().ForceFlush();
        Assert.True(app.Services.GetRequiredService<TracerProvider>().ForceFlush());

        Assert.Contains("coalesce.server.requests", metrics.Names);
        Assert.Contains("coalesce.server.execution.duration", metrics.Names);
        Assert.Contains("coalesce.client.calls", metrics.Names);
        Assert.Contains("coalesce.cache.lookups", metrics.Names);
        Assert.Contains("http.server.request.duration", metrics.Names);
        Assert.Contains("GET /products/{id:int}", spans.Names);
        Assert.Contains("GET /weather/{city}", spans.Names);
    }

    /// <summary>Keeps the names of what OpenTelemetry exports.</summary>
    private sealed class NameExporter<T>(Func<T, string> name) : BaseExporter<T>
        where T : class
    {
        private readonly ConcurrentDictionary<string, bool> _names = new();

        public ICollection<string> Names => _names.Keys;

        public override ExportResult Export(in Batch<T> batch)
        {
            foreach (var item in batch)
            {
                _names[name(item)] = true;
            }

            return ExportResult.Success;
        }
    }

    [Fact]
    public async Task An_upstream_failing_with_503_everywhere_gives_the_last_503_to_the_endpoint_which_answers_502()
    {
        await using var app = new SampleApp(network: _ => new HttpResponseMessage(HttpStatusCode.ServiceUnavailable));

        var response = await app.Client.GetAsync("/weather/Tromso");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("The weather upstream answered 503 ServiceUnavailable.", problem.GetProperty("detail").GetString());
        Assert.Equal(6, app.NetworkCalls);
    }

    [Fact]
    public async Task An_unreachable_upstream_is_caught_as_HttpRequestException_and_answers_502_counting_every_attempt()
    {
        await using var app = new SampleApp(network: uri => throw new HttpRequestException(HttpRequestError.ConnectionError, $"{uri.Host} refused the connection"));

        var response = await app.Client.GetAsync("/weather/Narvik");
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("The weather upstream could not be reached (6 attempts): fallback.test refused the connection", problem.GetProperty("detail").GetString());
        Assert.Equal(6, app.NetworkCalls);
        Assert.Equal(1, Assert.Single(app.Stats.GetSnapshot().HttpClients).Errors);
    }

    [Fact]
    public async Task The_stats_endpoint_reports_requests_cache_and_endpoints_in_camel_case()
    {
        await using var app = new SampleApp();
        await app.Client.GetStringAsync("/products/1");
        await app.Client.GetStringAsync("/products/1");

        var response = await app.Client.GetAsync("/_coalesce/stats");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var stats = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = stats.RootElement;
        Assert.Equal(1, root.GetProperty("requests").GetProperty("misses").GetInt64());
        Assert.Equal(1, root.GetProperty("requests").GetProperty("hits").GetInt64());
        foreach (var name in new[] { "hits", "misses", "errors", "active", "hitRate" })
        {
            Assert.True(root.GetProperty("requests").TryGetProperty(name, out _), $"requests.{name} is missing.");
        }

        foreach (var name in new[] { "hits", "misses", "hitRate", "size", "evictions" })
        {
            Assert.True(root.GetProperty("cache").TryGetProperty(name, out _), $"cache.{name} is missing.");
        }

        Assert.Equal(1, root.GetProperty("cache").GetProperty("size").GetInt64());
        var endpoint = Assert.Single(root.GetProperty("endpoints").EnumerateArray());
        Assert.Equal("GET /products/{id:int}", endpoint.GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Array, root.GetProperty("httpClients").ValueKind);
    }
}
