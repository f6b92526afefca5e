using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// The key: which requests meet, and which never may. First the builder on its own, then through the middleware: path,
/// query, their encodings, vary headers and key functions. Callers' identities are in <see cref="RequestKeyIdentityTests"/>.
/// </summary>
public sealed class RequestKeyTests
{
    private readonly EndpointState _state;

    public RequestKeyTests()
    {
        var services = new ServiceCollection().AddLogging().AddRequestCoalescing().BuildServiceProvider();
        var endpoint = new RouteEndpoint(static _ => Task.CompletedTask, RoutePatternFactory.Parse("/items"), 0, EndpointMetadataCollection.Empty, "/items");
        _state = new EndpointState(
            endpoint, services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value, services.GetRequiredService<CoalescingStatsRegistry>());
    }

    [Fact]
    public void A_vary_header_that_is_absent_differs_from_one_sent_empty_and_each_header_is_told_apart_by_name()
    {
        var absent = Key(_ => { });
        var alsoAbsent = Key(_ => { });
        var empty = Key(h => h.Accept = "");
        var acceptX = Key(h => h.Accept = "x");
        var languageX = Key(h => h.AcceptLanguage = "x");
        var both = Key(h =>
        {
            h.Accept = "x";
            h.AcceptLanguage = "x";
        });

        Assert.Equal(absent, alsoAbsent);
        Assert.Equal(6, new HashSet<string>([absent, empty, acceptX, languageX, both, Key(h => h.Accept = "x,x")]).Count);
    }

    [Fact]
    public void A_header_value_cannot_pose_as_another_header()
    {
        // Without the length of each name and value, Accept "a" followed by Accept-Language "b" could be spelled by
        // one Accept value that contains the next header's text.
        var two = Key(h =>
        {
            h.Accept = "a";
            h.AcceptLanguage = "b";
        });
        var forged = Key(h => h.Accept = "a1#1:bH15:Accept-Language1#1:b");

        Assert.NotEqual(two, forged);
    }

    [Theory]
    [InlineData("/items?a=1", "/items?a=2")]
    [InlineData("/items/1", "/items/2")]
    [InlineData("/items?a=1&b=2", "/items?a=1&b=3")]
    [InlineData("/items?q=a%26b", "/items?q=a&b")]
    [InlineData("/items?q=x", "/items?Q=x")]
    public async Task Requests_that_differ_in_path_or_query_are_not_shared(string first, string second)
    {
        var gate = new Gate();
        await using var app = await GatedCatchAll(gate);

        await app.AssertNotSharedAsync(gate, first, second);
    }

    [Fact]
    public async Task Query_parameter_order_does_not_matter()
    {
        var gate = new Gate();
        await using var app = await GatedCatchAll(gate);

        var a = app.Client.GetStringAsync("/items?a=1&b=2");
        await gate.WaitForExecutionsAsync(1);
        var b = app.Client.GetStringAsync("/items?b=2&a=1");
        await app.WaitForFollowersAsync(1);
        gate.Open();

        Assert.Equal(await a, await b);
        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task Different_Accept_values_and_HEAD_versus_GET_are_not_shared()
    {
        var gate = new Gate();
        await using var app = await GatedCatchAll(gate);

        var json = app.SendAsync(HttpMethod.Get, "/items", accept: "application/json");
        var xml = app.SendAsync(HttpMethod.Get, "/items", accept: "application/xml");
        var head = app.SendAsync(HttpMethod.Head, "/items", accept: "application/json");
        await gate.WaitForExecutionsAsync(3);
        gate.Open();

        await Task.WhenAll(json, xml, head);
        Assert.Equal(3, gate.Executions);
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
                    var run = await gate.EnterAndWaitAsync();
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
            var run = await gate.EnterAndWaitAsync();
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
        await using var app = await GatedCatchAll(gate);

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

    [Fact]
    public async Task VaryByQuery_star_means_every_query_parameter()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/search", async (HttpContext ctx) =>
            {
                var run = await gate.EnterAndWaitAsync();
                return $"{ctx.Request.QueryString}|{run}";
            }).WithCoalescing(p => p.VaryByQuery("*")),
            kestrel: true);

        await app.AssertNotSharedAsync(gate, "/search?q=1", "/search?q=2");
    }

    private string Key(Action<IHeaderDictionary> headers)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Get;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost");
        context.Request.Path = "/items";
        headers(context.Request.Headers);
        return RequestKeyBuilder.Build(context, _state);
    }

    /// <summary>Answers with the path, query and Accept it was sent and its run, so only requests that met answer alike.</summary>
    private static Task<TestApp> GatedCatchAll(Gate gate) => TestApp.StartAsync(a => a.MapMethods("/items/{**rest}", ["GET", "HEAD"], async (HttpContext ctx) =>
    {
        var run = await gate.EnterAndWaitAsync();
        return $"{ctx.Request.Path}{ctx.Request.QueryString}|{ctx.Request.Headers.Accept}|{run}";
    }));

    /// <summary>Echoes the request target exactly as it arrived, so any two requests that differ answer differently.</summary>
    private static Task<TestApp> GatedEcho(Gate gate) => TestApp.StartAsync(a => a.MapGet("/items/{**rest}", async (HttpContext ctx) =>
    {
        var run = await gate.EnterAndWaitAsync();
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
