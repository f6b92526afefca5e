using System.Net;
using Coalesce.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Http;

/// <summary>
/// The outbound handler keys on the whole request it is given: concurrent calls held at a gated network share one
/// call only when every header (but the tracing ones) and every request option are equal.
/// </summary>
public sealed class HttpWholeRequestKeyTests
{
    private static readonly HttpRequestOptionsKey<string> Tenant = new("tenant");
    private static readonly HttpRequestOptionsKey<int> Attempt = new("attempt");
    private static readonly HttpRequestOptionsKey<object> Settings = new("settings");

    /// <summary>A network held shut until the test opens it, answering with the caller's API key and tenant.</summary>
    private static ScriptedHandler GatedNetwork(Gate gate) => new(async sent =>
    {
        gate.Enter();
        await gate.WaitAsync();
        return ScriptedHandler.Respond(
            HttpStatusCode.OK, $"key={sent.Headers.GetValueOrDefault("X-Api-Key")} tenant={sent.Headers.GetValueOrDefault("X-Tenant")} call={sent.Index}");
    });

    private static HttpRequestMessage Get(Action<HttpRequestMessage> configure)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/reports/1");
        configure(request);
        return request;
    }

    private static async Task<string[]> SendTogetherAsync(
        ScriptedClient scripted, Gate gate, int networkCalls, params HttpRequestMessage[] requests)
    {
        var calls = requests.Select(r => scripted.Client.SendAsync(r)).ToArray();
        await gate.WaitForExecutionsAsync(networkCalls);
        await TestApp.WaitUntilAsync(() => scripted.Stats.Hits == requests.Length - networkCalls, $"{requests.Length - networkCalls} followers");
        gate.Open();
        var responses = await Task.WhenAll(calls);
        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        return bodies;
    }

    [Fact]
    public async Task Two_calls_that_differ_only_in_an_api_key_make_two_network_calls_and_each_gets_its_own_body()
    {
        var gate = new Gate();
        using var scripted = new ScriptedClient(GatedNetwork(gate), ScriptedClient.Untimed);

        var bodies = await SendTogetherAsync(
            scripted, gate, networkCalls: 2,
            Get(r => r.Headers.Add("X-Api-Key", "alice-key")),
            Get(r => r.Headers.Add("X-Api-Key", "bob-key")));

        Assert.StartsWith("key=alice-key ", bodies[0], StringComparison.Ordinal);
        Assert.StartsWith("key=bob-key ", bodies[1], StringComparison.Ordinal);
        Assert.Equal(2, scripted.Network.Count);
        Assert.Equal(0, scripted.Stats.Hits);
    }

    [Theory]
    [InlineData("X-Tenant", "acme", "globex")]
    [InlineData("Accept", "application/json", "application/xml")]
    [InlineData("Accept-Language", "en", "fr")]
    [InlineData("Cookie", "session=a", "session=b")]
    public async Task Calls_that_differ_in_any_header_never_share(string header, string first, string second)
    {
        var gate = new Gate();
        using var scripted = new ScriptedClient(GatedNetwork(gate), ScriptedClient.Untimed);

        await SendTogetherAsync(
            scripted, gate, networkCalls: 2,
            Get(r => r.Headers.TryAddWithoutValidation(header, first)),
            Get(r => r.Headers.TryAddWithoutValidation(header, second)));

        Assert.Equal(2, scripted.Network.Count);
        Assert.Equal([first, second], scripted.Network.Requests.Select(s => s.Headers[header]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Calls_with_the_same_headers_make_one_network_call()
    {
        var gate = new Gate();
        using var scripted = new ScriptedClient(GatedNetwork(gate), ScriptedClient.Untimed);

        var bodies = await SendTogetherAsync(
            scripted, gate, networkCalls: 1,
            Get(r =>
            {
                r.Headers.Add("X-Api-Key", "alice-key");
                r.Headers.Add("X-Tenant", "acme");
                r.Headers.Add("Accept", "application/json");
            }),
            Get(r =>
            {
                r.Headers.Add("accept", "application/json");   // another order and spelling of the same headers
                r.Headers.Add("x-tenant", "acme");
                r.Headers.Add("x-api-key", "alice-key");
            }));

        Assert.Equal(1, scripted.Network.Count);
        Assert.Equal("key=alice-key tenant=acme call=1", Assert.Single(bodies.Distinct()));
        Assert.Equal(1, scripted.Stats.Hits);
    }

    [Fact]
    public async Task Calls_that_differ_only_in_tracing_headers_make_one_network_call()
    {
        var gate = new Gate();
        using var scripted = new ScriptedClient(GatedNetwork(gate), ScriptedClient.Untimed);

        HttpRequestMessage Traced(string traceId, string baggage) => Get(r =>
        {
            r.Headers.Add("X-Tenant", "acme");
            r.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-b7ad6b7169203331-01");
            r.Headers.TryAddWithoutValidation("tracestate", $"vendor={traceId}");
            r.Headers.TryAddWithoutValidation("baggage", baggage);
            r.Headers.TryAddWithoutValidation("Request-Id", $"|{traceId}.1.");
            r.Headers.TryAddWithoutValidation("Correlation-Context", baggage);
        });

        await SendTogetherAsync(
            scripted, gate, networkCalls: 1,
            Traced("0af7651916cd43dd8448eb211c80319c", "user=alice"),
            Traced("4bf92f3577b34da6a3ce929d0e0e4736", "user=bob"));

        Assert.Equal(1, scripted.Network.Count);
        Assert.Equal(1, scripted.Stats.Hits);
    }

    [Fact]
    public async Task Calls_whose_request_options_differ_make_two_network_calls()
    {
        var gate = new Gate();
        using var scripted = new ScriptedClient(GatedNetwork(gate), ScriptedClient.Untimed);

        await SendTogetherAsync(
            scripted, gate, networkCalls: 2,
            Get(r => r.Options.Set(Tenant, "acme")),
            Get(r => r.Options.Set(Tenant, "globex")));

        Assert.Equal(2, scripted.Network.Count);
        Assert.Equal(0, scripted.Stats.Hits);
    }

    [Fact]
    public async Task Calls_whose_request_options_are_new_objects_each_time_make_their_own_network_calls()
    {
        var gate = new Gate();
        using var scripted = new ScriptedClient(GatedNetwork(gate), ScriptedClient.Untimed);

        await SendTogetherAsync(
            scripted, gate, networkCalls: 2,
            Get(r => r.Options.Set(Settings, new List<string> { "a" })),
            Get(r => r.Options.Set(Settings, new List<string> { "a" })));

        Assert.Equal(2, scripted.Network.Count);
    }

    [Fact]
    public async Task Calls_with_equal_request_options_make_one_network_call()
    {
        var gate = new Gate();
        var shared = new object();
        using var scripted = new ScriptedClient(GatedNetwork(gate), ScriptedClient.Untimed);

        await SendTogetherAsync(
            scripted, gate, networkCalls: 1,
            Get(r =>
            {
                r.Options.Set(Tenant, "acme");
                r.Options.Set(Attempt, 1);
                r.Options.Set(Settings, shared);
            }),
            Get(r =>
            {
                r.Options.Set(Settings, shared);
                r.Options.Set(Attempt, 1);
                r.Options.Set(Tenant, new string("acme".AsSpan()));
            }));

        Assert.Equal(1, scripted.Network.Count);
        Assert.Equal(1, scripted.Stats.Hits);
    }

    [Fact]
    public async Task A_header_and_an_option_ignored_in_configuration_let_calls_that_differ_in_them_share()
    {
        var gate = new Gate();
        var network = GatedNetwork(gate);
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Coalesce:HttpClients:upstream:IgnoreHeaders:0"] = "X-Request-Id",
            ["Coalesce:HttpClients:upstream:IgnoreHeaders:1"] = "traceparent",
            ["Coalesce:HttpClients:upstream:IgnoreRequestOptions:0"] = "call-id",
        }).Build().GetSection("Coalesce:HttpClients:upstream");
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(new ManualTimeProvider());
        services.AddHttpClient("upstream", c => c.BaseAddress = new Uri("http://primary.test/"))
            .AddCoalescing(section, ScriptedClient.Untimed)
            .ConfigurePrimaryHttpMessageHandler(() => network);
        await using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>().Get("upstream");
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("upstream");
        var registry = provider.GetRequiredService<CoalescingStatsRegistry>();
        var callId = new HttpRequestOptionsKey<Guid>("call-id");

        HttpRequestMessage Call(string requestId, string traceId) => Get(r =>
        {
            r.Headers.Add("X-Request-Id", requestId);
            r.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-b7ad6b7169203331-01");
            r.Options.Set(callId, Guid.NewGuid());
        });

        var calls = new[]
        {
            client.SendAsync(Call("1", "0af7651916cd43dd8448eb211c80319c")),
            client.SendAsync(Call("2", "4bf92f3577b34da6a3ce929d0e0e4736")),
        };
        await TestApp.WaitUntilAsync(() => registry.GetSnapshot().HttpClients.Single().Hits == 1, "the second call joining the first");
        gate.Open();
        foreach (var response in await Task.WhenAll(calls))
        {
            response.Dispose();
        }

        Assert.True(options.IgnoreHeaders.SetEquals(["x-request-id", "TRACEPARENT"]));          // replaced, not added to
        Assert.Equal(["call-id"], options.IgnoreRequestOptions);
        Assert.Equal(1, network.Count);
    }

    [Fact]
    public async Task Bad_ignore_lists_fail_start_up_naming_the_client_and_the_option()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddHttpClient("weather").AddCoalescing(o =>
        {
            o.IgnoreHeaders.Add(" ");
            o.IgnoreHeaders.Add("X Request Id");
            o.IgnoreHeaders.Add("authorization");
            o.IgnoreRequestOptions.Add("");
        });
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal(4, ex.Failures.Count());
        Assert.Contains("HttpClient 'weather': IgnoreHeaders contains an empty header name.", ex.Failures);
        Assert.Contains("HttpClient 'weather': IgnoreHeaders contains 'X Request Id', which is not a header name (letters, digits and !#$%&'*+-.^_`|~ only).", ex.Failures);
        Assert.Contains("HttpClient 'weather': IgnoreHeaders contains 'authorization', a credential; credentials always stay in the key, so two identities never share a response.", ex.Failures);
        Assert.Contains("HttpClient 'weather': IgnoreRequestOptions contains an empty request option key.", ex.Failures);
    }
}
