using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>Named policies, from code and configuration, on minimal endpoints and MVC actions, and their start-up checks.</summary>
public sealed class NamedPolicyTests
{
    [Fact]
    public async Task A_named_policy_memoizes_and_tags_the_endpoints_that_name_it()
    {
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/products/{id}", (string id) => $"product {id} run {Interlocked.Increment(ref runs)}").WithCoalescing("Products");
                a.MapPut("/products/{id}", () => Results.NoContent()).InvalidatesTags("product:{id}");
            },
            o => o.AddPolicy("products", p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("products", "product:{id}")));

        Assert.Equal("product 1 run 1", await app.Client.GetStringAsync("/products/1"));
        Assert.Equal("product 1 run 1", await app.Client.GetStringAsync("/products/1"));   // memoized
        Assert.Equal("product 2 run 2", await app.Client.GetStringAsync("/products/2"));
        Assert.Equal(2, app.Cache.Count);

        Assert.Equal(HttpStatusCode.NoContent, (await app.Client.PutAsync("/products/1", null)).StatusCode);

        Assert.Equal("product 1 run 3", await app.Client.GetStringAsync("/products/1"));   // its tag was invalidated
        Assert.Equal("product 2 run 2", await app.Client.GetStringAsync("/products/2"));   // the other one was not
        Assert.Equal(2, await app.Cache.InvalidateByTagAsync("products"));
    }

    [Fact]
    public async Task A_named_policy_from_configuration_memoizes_with_its_tags_and_key()
    {
        var runs = 0;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Coalesce:CoalesceAllGetRequests"] = "false",
            ["Coalesce:Policies:catalog:MemoizeSeconds"] = "60",
            ["Coalesce:Policies:catalog:Tags:0"] = "catalog",
            ["Coalesce:Policies:catalog:VaryByQuery:0"] = "page",
        }).Build();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/catalog", () => $"run {Interlocked.Increment(ref runs)}").WithCoalescing("catalog"),
            services: s => s.AddRequestCoalescing(configuration.GetSection("Coalesce")));

        Assert.Equal("run 1", await app.Client.GetStringAsync("/catalog?page=1&utm=a"));
        Assert.Equal("run 1", await app.Client.GetStringAsync("/catalog?page=1&utm=b"));  // only page is in the key
        Assert.Equal("run 2", await app.Client.GetStringAsync("/catalog?page=2"));
        Assert.Equal(2, await app.Cache.InvalidateByTagAsync("catalog"));
        Assert.Equal("run 3", await app.Client.GetStringAsync("/catalog?page=2"));
        app.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal("run 3", await app.Client.GetStringAsync("/catalog?page=2"));
        app.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("run 4", await app.Client.GetStringAsync("/catalog?page=2"));     // MemoizeSeconds is the TTL
    }

    [Fact]
    public async Task A_named_policy_from_configuration_sets_the_stale_windows()
    {
        var failing = false;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Coalesce:Policies:catalog:MemoizeSeconds"] = "60",
            ["Coalesce:Policies:catalog:StaleWhileRevalidateSeconds"] = "30",
            ["Coalesce:Policies:catalog:StaleIfErrorSeconds"] = "3600",
        }).Build();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/catalog", () => Volatile.Read(ref failing) ? Results.StatusCode(500) : Results.Text("catalog v1")).WithCoalescing("catalog"),
            services: s => s.AddRequestCoalescing(configuration.GetSection("Coalesce")));

        await app.Client.GetStringAsync("/catalog");
        failing = true;
        app.Time.Advance(TimeSpan.FromSeconds(60 + 30));
        Assert.Equal("catalog v1", await app.Client.GetStringAsync("/catalog"));   // past revalidate, inside stale-if-error
        app.Time.Advance(TimeSpan.FromSeconds(3600 - 30));
        Assert.Equal(HttpStatusCode.InternalServerError, (await app.Client.GetAsync("/catalog")).StatusCode);
    }

    [Theory]
    [InlineData("StaleWhileRevalidateSeconds", "-5", "'Coalesce:Policies:catalog:StaleWhileRevalidateSeconds'")]
    [InlineData("StaleIfErrorSeconds", "soon", "'Coalesce:Policies:catalog:StaleIfErrorSeconds'")]
    public async Task A_bad_stale_window_in_configuration_fails_start_up_naming_its_path(string key, string value, string path)
    {
        var ex = await CatalogStartupFailureAsync(new()
        {
            ["Coalesce:Policies:catalog:MemoizeSeconds"] = "60",
            [$"Coalesce:Policies:catalog:{key}"] = value,
        });

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stale_window_without_memoize_in_configuration_fails_start_up_naming_the_policy()
    {
        var ex = await CatalogStartupFailureAsync(new()
        {
            ["Coalesce:Policies:catalog:StaleIfErrorSeconds"] = "60",
        });

        Assert.Contains("'Coalesce:Policies:catalog'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("StaleIfError without Memoize", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_policy_configured_with_an_unknown_setting_fails_start_up_naming_its_path()
    {
        var ex = await CatalogStartupFailureAsync(new()
        {
            ["Coalesce:Policies:catalog:MemoizeMinutes"] = "1",
        });

        Assert.Contains("'Coalesce:Policies:catalog:MemoizeMinutes'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MemoizeSeconds", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_policy_name_fails_start_up_naming_the_endpoint_and_the_policy()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a =>
            {
                a.MapGet("/products", () => "never").WithCoalescing("prodcuts");
                a.MapGet("/fine", () => "fine").WithCoalescing("products");
            },
            o => o.AddPolicy("products", p => p.Memoize(TimeSpan.FromMinutes(1)))));

        Assert.Contains("1 endpoint(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/products", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'prodcuts'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("/fine", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_named_policy_whose_tag_names_a_missing_route_value_fails_start_up()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a => a.MapGet("/things", () => "never").WithCoalescing("things"),
            o => o.AddPolicy("things", p => p.Tag("thing:{id}"))));

        Assert.Contains("'thing:{id}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/things", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_mvc_action_memoizes_with_the_policy_its_attribute_names()
    {
        PolicyController.Runs = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapControllers(),
            o =>
            {
                o.CoalesceAllGetRequests = false;
                o.AddPolicy("reports", p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("report:{id}"));
            },
            services: s => s.AddControllers().AddApplicationPart(typeof(PolicyController).Assembly));

        Assert.Equal("report 1 run 1", await app.Client.GetStringAsync("/mvc/reports/1"));
        Assert.Equal("report 1 run 1", await app.Client.GetStringAsync("/mvc/reports/1"));
        Assert.Equal(1, app.Cache.Count);

        Assert.Equal(HttpStatusCode.NoContent, (await app.Client.PostAsync("/mvc/reports/1", null)).StatusCode);
        Assert.Equal(0, app.Cache.Count);
        Assert.Equal("report 1 run 2", await app.Client.GetStringAsync("/mvc/reports/1"));
    }

    [Fact]
    public async Task An_mvc_attribute_naming_an_unknown_policy_fails_start_up()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a => a.MapControllers(),
            services: s => s.AddControllers().AddApplicationPart(typeof(PolicyController).Assembly)));

        Assert.Contains("'reports'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PolicyController.Get", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Starts an app whose <c>/catalog</c> names the policy "catalog", configured from <paramref name="settings"/>; start-up must fail.</summary>
    private static Task<InvalidOperationException> CatalogStartupFailureAsync(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a => a.MapGet("/catalog", () => "never").WithCoalescing("catalog"),
            services: s => s.AddRequestCoalescing(configuration.GetSection("Coalesce"))));
    }
}
