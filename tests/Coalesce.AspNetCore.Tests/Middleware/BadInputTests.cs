using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Middleware;

public sealed class BadInputTests
{
    public static TheoryData<string, Action<RequestCoalescingOptions>> InvalidOptions => new()
    {
        { "MaxBufferedBodyBytes", o => o.MaxBufferedBodyBytes = -1 },
        { "WaitTimeout", o => o.WaitTimeout = TimeSpan.Zero },
        { "PassThroughDuration", o => o.PassThroughDuration = TimeSpan.FromSeconds(-1) },
        { "MemoMaxEntries", o => o.MemoMaxEntries = 0 },
        { "MemoMaxBytes", o => o.MemoMaxBytes = 1023 },
        { "MemoMaxBytes", o => o.MemoMaxBytes = (1L << 40) + 1 },
        { "MemoMaxEntryBytes", o => o.MemoMaxEntryBytes = 1023 },
        { "MemoMaxEntryBytes", o => o.MemoMaxBytes = 1 << 20 }, // below the default per-entry limit
        { "VaryByHeaders", o => o.VaryByHeaders.Add("") },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public async Task Invalid_options_fail_start_up_with_a_message_naming_the_option(string option, Action<RequestCoalescingOptions> configure)
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), configure));

        var failure = Assert.Single(ex.Failures);
        Assert.Contains(option, failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Memo_byte_bounds_fail_start_up_with_their_ranges()
    {
        var tooSmall = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), o => o.MemoMaxBytes = 0));
        var aboveTheWhole = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), o => (o.MemoMaxBytes, o.MemoMaxEntryBytes) = (10_000, 10_001)));

        Assert.Equal(
            "MemoMaxBytes is 0; it must be between 1024 bytes (1 KiB) and 1099511627776 bytes (1 TiB).",
            Assert.Single(tooSmall.Failures));
        Assert.Equal(
            "MemoMaxEntryBytes is 10001; it must be between 1024 bytes (1 KiB) and MemoMaxBytes (10000 bytes).",
            Assert.Single(aboveTheWhole.Failures));
    }

    [Fact]
    public async Task UseRequestCoalescing_without_AddRequestCoalescing_says_what_to_call()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        await using var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.UseRequestCoalescing());
        Assert.Contains("AddRequestCoalescing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Policy_builder_rejects_bad_arguments_naming_the_parameter()
    {
        var policy = new CoalescingPolicyBuilder();

        Assert.Equal("ttl", Assert.Throws<ArgumentOutOfRangeException>(() => policy.Memoize(TimeSpan.Zero)).ParamName);
        Assert.Equal("timeout", Assert.Throws<ArgumentOutOfRangeException>(() => policy.WaitTimeout(TimeSpan.FromSeconds(-1))).ParamName);
        var malformed = Assert.Throws<ArgumentException>(() => policy.Tag("product:{id"));
        Assert.Equal("tags", malformed.ParamName);
        Assert.Contains("product:{id", malformed.Message, StringComparison.Ordinal);
        Assert.Equal("queryKeys", Assert.Throws<ArgumentNullException>(() => policy.VaryByQuery(null!)).ParamName);
        Assert.Equal("headerNames", Assert.ThrowsAny<ArgumentException>(() => policy.VaryByHeader("")).ParamName);
    }

    [Fact]
    public async Task Tags_naming_route_values_the_routes_lack_fail_start_up_naming_every_endpoint_and_tag()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(a =>
        {
            a.MapGet("/things/{id}", (string id) => id).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("thing:{nope}"));
            a.MapPost("/products", () => "created").InvalidatesTags("product:{productId}");
            a.MapGet("/fine/{id}", (string id) => id).WithCoalescing(p => p.Tag("fine:{id}"));
        }, kestrel: true));

        Assert.Contains("2 endpoint(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'thing:{nope}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/things/{id}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'product:{productId}'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("fine:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misconfigured_endpoint_never_breaks_the_others_and_is_itself_left_uncoalesced()
    {
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/things/{id}", (string id) => $"thing {id} run {Interlocked.Increment(ref runs)}")
                    .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("thing:{nope}"));
                a.MapGet("/other", () => "other");
            },
            services: s =>
            {
                // As if the endpoint appeared after start-up, when nothing checked it.
                s.RemoveAll<Microsoft.Extensions.Hosting.IHostedService>();
                s.AddFakeLogging();
            });

        Assert.Equal("other", await app.Client.GetStringAsync("/other"));
        Assert.Equal("thing 1 run 1", await app.Client.GetStringAsync("/things/1"));
        Assert.Equal("thing 1 run 2", await app.Client.GetStringAsync("/things/1"));

        var logged = app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == 2007).ToList();
        Assert.Contains("'nope'", Assert.Single(logged).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_key_function_that_throws_or_returns_null_costs_no_response_and_is_logged_once(bool throws)
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/keyed/{id}", async (string id) =>
                {
                    var run = gate.Enter();
                    await gate.WaitAsync();
                    return $"item {id} run {run}";
                })
                .WithCoalescing(p => p.KeyBy(ctx => throws ? throw new FormatException("tenant header is garbled") : null!)),
            services: s => s.AddFakeLogging());

        // Each request runs on its own: without a key nothing can be shared, but nobody loses a response.
        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetStringAsync("/keyed/1")).ToArray();
        await gate.WaitForExecutionsAsync(3);
        gate.Open();
        var bodies = await Task.WhenAll(requests);

        Assert.Equal(3, bodies.Distinct().Count());
        Assert.All(bodies, b => Assert.StartsWith("item 1 run ", b, StringComparison.Ordinal));
        Assert.Equal(0, app.Flights.InFlightCount);
        Assert.Equal(0, app.Stats.GetSnapshot().Requests.Active);

        var logged = app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == 2008).ToList();
        var record = Assert.Single(logged);
        Assert.Contains("/keyed/{id}", record.Message, StringComparison.Ordinal);
        Assert.Contains(throws ? "tenant header is garbled" : "returned null", record.Exception!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/items/a%2Fb", "/items/a/b")]
    [InlineData("/items/a%25b", "/items/a%2525b")]
    [InlineData("/items/a+b", "/items/a%20b")]
    [InlineData("/items?q=a+b", "/items?q=a%2Bb")]
    [InlineData("/items?q=%2F", "/items?q=%252F")]
    [InlineData("/items?q=a%26b=c", "/items?q=a&b=c")]
    [InlineData("/items/caf%C3%A9", "/items/cafe")]
    [InlineData("/items/caf%C3%A9", "/items/cafe%CC%81")]
    [InlineData("/items?q=日本", "/items?q=日本語")]
    [InlineData("/items/日本?q=x", "/items/日本?q=y")]
    public async Task Requests_whose_urls_differ_only_in_odd_encodings_are_not_shared(string first, string second)
    {
        var gate = new Gate();
        await using var app = await GatedEcho(gate);

        await app.AssertNotSharedAsync(gate, first, second);
    }

    [Fact]
    public async Task An_encoded_slash_and_an_encoded_percent_2F_are_not_shared_though_both_decode_to_the_same_path()
    {
        // Kestrel leaves "%2F" encoded in Request.Path and decodes "%25" to '%', so "/items/a%2Fb" and
        // "/items/a%252Fb" both arrive as Path "/items/a%2Fb" and only the raw target tells them apart (a proxy
        // forwarding it would fetch different resources). TestServer leaves RawTarget empty, so the requests are
        // shaped here as Kestrel delivers them.
        var gate = new Gate();
        await using var app = await GatedEcho(gate);
        var server = Assert.IsType<TestServer>(app.Services.GetRequiredService<IServer>());
        Task<HttpContext> Send(string rawTarget) => server.SendAsync(ctx =>
        {
            ctx.Request.Method = HttpMethods.Get;
            ctx.Request.Path = "/items/a%2Fb";
            ctx.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget = rawTarget;
        });

        var slash = new[] { Send("/items/a%2Fb"), Send("/items/a%2Fb") };
        await gate.WaitForExecutionsAsync(1);
        await app.WaitForFollowersAsync(1);
        var percent = new[] { Send("/items/a%252Fb"), Send("/items/a%252Fb") };
        await gate.WaitForExecutionsAsync(2);
        await app.WaitForFollowersAsync(2);
        gate.Open();

        Assert.Equal(2, gate.Executions);
        var slashBodies = await Task.WhenAll(slash.Select(ReadBodyAsync));
        var percentBodies = await Task.WhenAll(percent.Select(ReadBodyAsync));
        Assert.All(slashBodies, body => Assert.StartsWith("/items/a%2Fb|", body, StringComparison.Ordinal));
        Assert.All(percentBodies, body => Assert.StartsWith("/items/a%252Fb|", body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Very_long_query_strings_that_differ_only_at_the_end_are_not_shared()
    {
        var gate = new Gate();
        await using var app = await GatedEcho(gate);
        var prefix = "/items?q=" + new string('x', 8 * 1024);

        var a = app.Client.GetStringAsync(prefix + "a");
        await gate.WaitForExecutionsAsync(1);
        var b = app.Client.GetStringAsync(prefix + "b");
        await gate.WaitForExecutionsAsync(2);
        gate.Open();

        Assert.EndsWith("a|1", await a, StringComparison.Ordinal);
        Assert.EndsWith("b|2", await b, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/items/a%2Fb")]
    [InlineData("/items/a%252Fb")]
    [InlineData("/items/café?q=日本")]
    [InlineData("/items?q=a+b&r=%2F")]
    [InlineData("/items?q=LONG")]
    public async Task The_same_odd_url_repeated_is_shared(string url)
    {
        url = url.Replace("LONG", new string('x', 8 * 1024), StringComparison.Ordinal);
        var gate = new Gate();
        await using var app = await GatedEcho(gate);

        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetStringAsync(url)).ToArray();
        await app.WaitForFollowersAsync(2);
        gate.Open();
        var bodies = await Task.WhenAll(requests);

        Assert.Equal(1, gate.Executions);
        Assert.Single(bodies.Distinct());
    }

    [Fact]
    public async Task Queries_encoded_differently_stay_apart_even_when_they_decode_alike()
    {
        // The key holds the query as sent: "a+b" and "a%20b" both decode to "a b", but a key that never merges
        // two different raw queries can never hand one request another's answer.
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/search", async (HttpContext ctx) =>
        {
            var run = gate.Enter();
            await gate.WaitAsync();
            return $"{ctx.Request.Query["q"]}|{run}";
        }));

        var plus = app.Client.GetStringAsync("/search?q=a+b");
        var percent = app.Client.GetStringAsync("/search?q=a%20b");
        await gate.WaitForExecutionsAsync(2);
        gate.Open();

        Assert.Equal(["a b|1", "a b|2"], new[] { await plus, await percent }.Order());
        Assert.Equal(2, gate.Executions);
    }

    [Fact]
    public async Task Repeated_query_parameters_keep_their_order_while_distinct_names_may_move()
    {
        var gate = new Gate();
        await using var app = await CoalescingTests.GatedCatchAll(gate);

        var first = app.Client.GetStringAsync("/items?a=1&a=2&b=3");
        await gate.WaitForExecutionsAsync(1);
        var reordered = app.Client.GetStringAsync("/items?b=3&a=1&a=2");
        await app.WaitForFollowersAsync(1);
        var swapped = app.Client.GetStringAsync("/items?a=2&a=1&b=3");
        await gate.WaitForExecutionsAsync(2);
        gate.Open();

        Assert.Equal(await first, await reordered);
        Assert.NotEqual(await first, await swapped);
        Assert.Equal(2, gate.Executions);
    }

    /// <summary>Echoes the request target exactly as it arrived, so any two requests that differ answer differently.</summary>
    private static Task<TestApp> GatedEcho(Gate gate) => TestApp.StartAsync(a => a.MapGet("/items/{**rest}", async (HttpContext ctx) =>
    {
        var run = gate.Enter();
        await gate.WaitAsync();
        var raw = ctx.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        return $"{raw}|{ctx.Request.Path}{ctx.Request.QueryString}|{run}";
    }));

    private static async Task<string> ReadBodyAsync(Task<HttpContext> request)
    {
        var context = await request;
        using var reader = new StreamReader(context.Response.Body);
        return await reader.ReadToEndAsync();
    }
}
