using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.AspNetCore.Tests.Inputs;

/// <summary>
/// The inputs rule, end to end on Kestrel: a request shares a response only when every input the response was computed
/// from outside the key has the same value in its own request — whatever path the app read it by, including state a
/// middleware in front derived from it — and requests that differ only in what the app never read still share.
/// </summary>
public sealed class ObservedInputsTests
{
    private const int Clients = 4;

    /// <summary>A way of reading one request input, and how each client's request sets it.</summary>
    public sealed record InputPath(
        string Name,
        Func<HttpContext, string> Read,
        Action<HttpRequestMessage, string> Send,
        Action<WebApplication>? InFront = null,
        Action<CoalescingPolicyBuilder>? Policy = null,
        Action<IServiceCollection>? Services = null)
    {
        public override string ToString() => Name;
    }

    private static readonly InputPath[] Paths =
    [
        new("header by the indexer", c => c.Request.Headers["X-Tenant"].ToString(), (r, v) => r.Headers.Add("X-Tenant", v)),
        new("header by TryGetValue", c => c.Request.Headers.TryGetValue("X-Tenant", out var v) ? v.ToString() : "none", (r, v) => r.Headers.Add("X-Tenant", v)),
        new("header by a typed property", c => c.Request.Headers.UserAgent.ToString(), (r, v) => r.Headers.TryAddWithoutValidation("User-Agent", "agent-" + v)),
        new("header by GetTypedHeaders", c => c.Request.GetTypedHeaders().Referer?.ToString() ?? "none", (r, v) => r.Headers.Referrer = new Uri("http://example.com/" + v)),
        new("header by ContainsKey", c => c.Request.Headers.ContainsKey("X-Flag-" + "b") ? "flag b" : "no flag b", (r, v) => r.Headers.Add("X-Flag-" + v, "1")),
        new("headers by enumeration", c => string.Join(",", c.Request.Headers.Where(h => h.Key.StartsWith("X-", StringComparison.Ordinal)).Select(h => h.Key + "=" + h.Value)), (r, v) => r.Headers.Add("X-Anything", v)),
        new("query outside VaryByQuery", c => c.Request.Query["region"].ToString(), (r, v) => r.RequestUri = new Uri("/in?page=1&region=" + v, UriKind.Relative), Policy: p => p.VaryByQuery("page")),
        new("cookie without identity in the key", c => c.Request.Cookies["theme"] ?? "none", (r, v) => r.Headers.Add("Cookie", "theme=" + v), Policy: p => p.VaryByIdentity(false)),
        new("client address from UseForwardedHeaders", c => c.Connection.RemoteIpAddress!.ToString(), (r, v) => r.Headers.Add("X-Forwarded-For", "10.0.0." + (v[0] - 'a' + 1)), InFront: ForwardedHeaders),
        new("tenant string a middleware in front put in Items", c => (string)c.Items["tenant"]!, (r, v) => r.Headers.Add("X-Tenant", v), InFront: TenantAsString),
        new("tenant object a middleware in front put in Items", c => ((Tenant)c.Items[typeof(Tenant)]!).Id, (r, v) => r.Headers.Add("X-Tenant", v), InFront: TenantAsObject),
        new("tenant a middleware in front filled into a scoped service", c => c.RequestServices.GetRequiredService<CurrentTenant>().Id, (r, v) => r.Headers.Add("X-Tenant", v), InFront: TenantAsScopedService, Services: s => s.AddScoped<CurrentTenant>()),
    ];

    public static TheoryData<InputPath, bool> PathsPlainAndMemoized()
    {
        var data = new TheoryData<InputPath, bool>();
        foreach (var path in Paths)
        {
            data.Add(path, false);
            data.Add(path, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(PathsPlainAndMemoized))]
    public async Task Concurrent_clients_that_differ_in_one_input_each_get_their_own_answer(InputPath path, bool memoized)
    {
        var gate = new Gate();
        await using var app = await StartAsync(path, memoized, gate);

        var values = new[] { "a", "b", "c", "d" };
        var requests = values.Select(v => app.Client.SendAsync(Request(path, v))).ToArray();
        await app.WaitForFollowersAsync(Clients - 1);
        gate.Open();
        var bodies = await Task.WhenAll(requests.Select(async r => await (await r).Content.ReadAsStringAsync()));

        var expected = await ExpectedAsync(path, values);
        Assert.Equal(expected, bodies);

        // Each client asks again: its own answer still (from memory, for a memoized endpoint).
        for (var i = 0; i < values.Length; i++)
        {
            var again = await app.Client.SendAsync(Request(path, values[i]));
            Assert.Equal(expected[i], await again.Content.ReadAsStringAsync());
        }

        var stats = await app.Client.GetFromJsonAsync<JsonElement>("/_coalesce/stats");
        var endpoint = stats.GetProperty("endpoints").EnumerateArray().Single(e => e.GetProperty("name").GetString() == "GET /in");
        Assert.NotEmpty(endpoint.GetProperty("unkeyedInputs").EnumerateArray());
        Assert.True(endpoint.GetProperty("inputRefusals").GetInt64() >= 1); // (clients whose values equal the leader's share it)
    }

    [Theory]
    [MemberData(nameof(PathsPlainAndMemoized))]
    public async Task Concurrent_clients_with_equal_inputs_share_one_execution(InputPath path, bool memoized)
    {
        var gate = new Gate();
        await using var app = await StartAsync(path, memoized, gate);

        var requests = Enumerable.Range(0, Clients).Select(_ => app.Client.SendAsync(Request(path, "b"))).ToArray();
        await app.WaitForFollowersAsync(Clients - 1);
        gate.Open();
        var bodies = await Task.WhenAll(requests.Select(async r => await (await r).Content.ReadAsStringAsync()));

        Assert.Single(bodies.Distinct());
        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task Browsers_that_differ_only_in_what_the_endpoint_never_reads_share_behind_a_proxy_and_request_logging()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/in", async (HttpContext c) =>
            {
                gate.Enter();
                await gate.WaitAsync(c.RequestAborted);
                return "catalogue for " + c.Request.Headers.Accept;
            }),
            beforeCoalescing: a =>
            {
                ForwardedHeaders(a);
                a.UseHttpLogging();
            },
            services: s => s.AddHttpLogging(_ => { }),
            kestrel: true);

        var requests = Enumerable.Range(0, 20).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/in");
            request.Headers.TryAddWithoutValidation("User-Agent", $"browser/{i}");
            request.Headers.Referrer = new Uri($"http://example.com/page/{i}");
            request.Headers.TryAddWithoutValidation("traceparent", $"00-{i:x32}-{i + 1:x16}-01");
            request.Headers.Add("X-Forwarded-For", $"10.0.1.{i + 1}");
            return app.Client.SendAsync(request);
        }).ToArray();
        await app.WaitForFollowersAsync(19);
        gate.Open();
        await Task.WhenAll(requests);

        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task A_header_bound_parameter_is_keyed_from_the_first_request()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/region", async ([FromHeader(Name = "X-Region")] string region, HttpContext c) =>
            {
                gate.Enter();
                await gate.WaitAsync(c.RequestAborted);
                return "weather in " + region;
            }),
            kestrel: true);

        var requests = new[] { "north", "south", "north", "south" }.Select(region =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/region");
            request.Headers.Add("X-Region", region);
            return app.Client.SendAsync(request);
        }).ToArray();

        // Keyed apart from the start: two flights, one per region, with a follower each (no discovering, no refusal).
        await app.WaitForFollowersAsync(2);
        gate.Open();
        var bodies = await Task.WhenAll(requests.Select(async r => await (await r).Content.ReadAsStringAsync()));

        Assert.Equal(["weather in north", "weather in south", "weather in north", "weather in south"], bodies);
        Assert.Equal(2, gate.Executions);
    }

    [Fact]
    public async Task An_ignored_input_is_not_compared()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/in", async (HttpContext c) =>
            {
                gate.Enter();
                _ = c.Request.Headers["X-Debug"];
                await gate.WaitAsync(c.RequestAborted);
                return "same for all";
            }),
            o => o.IgnoredInputs.Add("header:X-Debug"),
            kestrel: true);

        var requests = Enumerable.Range(0, Clients).Select(i =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/in");
            request.Headers.Add("X-Debug", i.ToString(CultureInfo.InvariantCulture));
            return app.Client.SendAsync(request);
        }).ToArray();
        await app.WaitForFollowersAsync(Clients - 1);
        gate.Open();
        await Task.WhenAll(requests);

        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task An_ignored_input_that_names_nothing_fails_at_start_up_naming_the_option()
    {
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => TestApp.StartAsync(a => a.MapGet("/in", () => "x"), o => o.IgnoredInputs.Add("X-Debug")));
        Assert.Contains("IgnoredInputs", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'X-Debug'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_user_is_told_what_the_endpoint_reads_why_a_request_did_not_share_and_what_each_key_holds()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/in", async (HttpContext c) =>
            {
                gate.Enter();
                var tenant = c.Request.Headers["X-Tenant"].ToString();
                await gate.WaitAsync(c.RequestAborted);
                return "answer for " + tenant;
            }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1))),
            o => o.EmitCacheStatus = true,
            services: s => s.AddFakeLogging().AddLogging(l => l.AddFilter("Coalesce", LogLevel.Debug)),
            kestrel: true);

        var requests = new[] { "a", "b" }.Select(v =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/in");
            request.Headers.Add("X-Tenant", v);
            return app.Client.SendAsync(request);
        }).ToArray();
        await app.WaitForFollowersAsync(1);
        gate.Open();
        var responses = await Task.WhenAll(requests);

        // The one that was refused says why in its Cache-Status.
        var statuses = responses.Select(r => string.Join(",", r.Headers.GetValues("Cache-Status"))).ToArray();
        Assert.Contains(statuses, s => s.Contains("detail=\"header:X-Tenant differs\"", StringComparison.Ordinal));

        var logs = app.Services.GetFakeLogCollector().GetSnapshot();
        var learned = Assert.Single(logs, r => r.Id.Id == 2019);
        Assert.Contains("header:X-Tenant", learned.Message, StringComparison.Ordinal);
        Assert.Contains("VaryByHeader(\"X-Tenant\")", learned.Message, StringComparison.Ordinal);
        Assert.Contains(logs, r => r.Id.Id == 2020 && r.Message.Contains("header:X-Tenant", StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Id.Id == 2021 && r.Message.Contains("led an execution", StringComparison.Ordinal));
        Assert.Contains(logs, r => r.Id.Id == 2021 && r.Message.Contains("not shared: its header:X-Tenant differs", StringComparison.Ordinal));
        var started = Assert.Single(logs, r => r.Id.Id == 2101 && r.Message.Contains("/in", StringComparison.Ordinal));
        Assert.Contains("headers Accept, Accept-Encoding, Accept-Language", started.Message, StringComparison.Ordinal);
        Assert.Contains("memoized for 00:01:00", started.Message, StringComparison.Ordinal);
    }

    private static async Task<TestApp> StartAsync(InputPath path, bool memoized, Gate gate) =>
        await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/in", async (HttpContext c) =>
                {
                    gate.Enter();
                    var value = path.Read(c);
                    await gate.WaitAsync(c.RequestAborted);
                    return "answer for " + value;
                }).WithCoalescing(p =>
                {
                    path.Policy?.Invoke(p);
                    if (memoized)
                    {
                        p.Memoize(TimeSpan.FromMinutes(1));
                    }
                });
                a.MapCoalescingStats();
            },
            beforeCoalescing: path.InFront,
            services: path.Services,
            kestrel: true);

    private static HttpRequestMessage Request(InputPath path, string value)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/in");
        path.Send(request, value);
        return request;
    }

    /// <summary>What each client gets from the same app without Coalesce: the truth to compare with.</summary>
    private static async Task<string[]> ExpectedAsync(InputPath path, string[] values)
    {
        var gate = new Gate();
        gate.Open();
        await using var bare = await TestApp.StartAsync(
            a => a.MapGet("/in", (HttpContext c) => "answer for " + path.Read(c)),
            beforeCoalescing: path.InFront,
            services: path.Services,
            kestrel: true,
            useCoalescing: false);
        var answers = new string[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            answers[i] = await (await bare.Client.SendAsync(Request(path, values[i]))).Content.ReadAsStringAsync();
        }

        return answers;
    }

    private static void ForwardedHeaders(WebApplication app)
    {
        var options = new ForwardedHeadersOptions { ForwardedHeaders = Microsoft.AspNetCore.HttpOverrides.ForwardedHeaders.XForwardedFor };
        app.UseForwardedHeaders(options);
    }

    private static void TenantAsString(WebApplication app) =>
        app.Use((c, next) =>
        {
            c.Items["tenant"] = c.Request.Headers["X-Tenant"].ToString();
            return next(c);
        });

    private static void TenantAsObject(WebApplication app) =>
        app.Use((c, next) =>
        {
            c.Items[typeof(Tenant)] = new Tenant(c.Request.Headers["X-Tenant"].ToString());
            return next(c);
        });

    private static void TenantAsScopedService(WebApplication app) =>
        app.Use((c, next) =>
        {
            c.RequestServices.GetRequiredService<CurrentTenant>().Id = c.Request.Headers["X-Tenant"].ToString();
            return next(c);
        });

    /// <summary>A scoped "current tenant", filled in by a middleware in front.</summary>
    private sealed class CurrentTenant
    {
        public string Id { get; set; } = "";
    }

    private sealed class Tenant(string id)
    {
        public string Id { get; } = id;
    }
}
