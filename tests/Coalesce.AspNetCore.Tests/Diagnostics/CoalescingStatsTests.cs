using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

public sealed class CoalescingStatsTests
{
    private static readonly string[] FlightKeys = ["hits", "misses", "errors", "active", "hitRate"];
    private static readonly string[] OutcomeKeys = ["memoHits", "collapsed", "staleAnswers", "bypasses", "perSecond"];

    [Fact]
    public async Task The_stats_endpoint_answers_the_documented_json_shape_with_the_workloads_figures()
    {
        var gate = new Gate();
        await using var app = await StartWorkloadApp(gate);
        await RunWorkloadAsync(app, gate);

        var response = await app.Client.GetAsync("/_coalesce/stats");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal(["requests", "cache", "endpoints", "httpClients", "uptimeSeconds", "countingSeconds"], Names(root));

        var requests = root.GetProperty("requests");
        Assert.Equal([.. FlightKeys, .. OutcomeKeys], Names(requests));
        AssertFlight(requests, hits: 10, misses: 6, errors: 1);

        var cache = root.GetProperty("cache");
        Assert.Equal(["hits", "misses", "hitRate", "size", "evictions", "bytes", "expirations"], Names(cache));
        Assert.Equal(1, cache.GetProperty("hits").GetInt64());
        Assert.Equal(1, cache.GetProperty("misses").GetInt64());
        Assert.Equal(0.5, cache.GetProperty("hitRate").GetDouble());
        Assert.Equal(1, cache.GetProperty("size").GetInt64());
        Assert.Equal(0, cache.GetProperty("evictions").GetInt64());

        var endpoints = root.GetProperty("endpoints").EnumerateArray().ToList();
        Assert.Equal(["GET /burst", "GET /failing", "GET /memo", "GET /sequential"], endpoints.Select(e => e.GetProperty("name").GetString()));
        foreach (var endpoint in endpoints)
        {
            Assert.Equal(["name", .. FlightKeys, "staleHits", "staleOnError", "refreshes", "refreshFailures", "unkeyedInputs", "inputRefusals", "method", "route", "memoHits", "collapsed", "staleAnswers", "bypasses", "streamed", "perSecond",
                "idempotencyClaims", "idempotencyReplays", "idempotencyConflicts", "idempotencyMismatches", "idempotencyRejections"], Names(endpoint));
            Assert.Empty(endpoint.GetProperty("unkeyedInputs").EnumerateArray());
        }

        AssertFlight(endpoints[0], hits: 9, misses: 1, errors: 0);
        AssertFlight(endpoints[1], hits: 0, misses: 1, errors: 1);
        AssertFlight(endpoints[2], hits: 1, misses: 1, errors: 0);
        AssertFlight(endpoints[3], hits: 0, misses: 3, errors: 0);
        Assert.Equal(JsonValueKind.Array, root.GetProperty("httpClients").ValueKind);
        Assert.Empty(root.GetProperty("httpClients").EnumerateArray());
    }

    [Fact]
    public async Task The_stats_endpoint_is_never_coalesced_or_counted()
    {
        var gate = new Gate();
        await using var app = await StartWorkloadApp(gate);
        await RunWorkloadAsync(app, gate);
        var before = app.Stats.GetSnapshot();
        var joinsBefore = app.Joins;

        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => app.Client.GetAsync("/_coalesce/stats")));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(responses, r => Assert.Contains("no-store", r.Headers.CacheControl?.ToString(), StringComparison.Ordinal));
        var after = app.Stats.GetSnapshot();
        Assert.Equal(before.Requests, after.Requests);
        Assert.Equal(before.Endpoints, after.Endpoints);
        Assert.DoesNotContain(after.Endpoints, e => e.Name.Contains("_coalesce", StringComparison.Ordinal));
        Assert.Equal(joinsBefore, app.Joins);
        Assert.Equal(0, app.Flights.InFlightCount);
    }

    [Fact]
    public async Task The_stats_endpoint_can_be_protected_with_RequireAuthorization()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapCoalescingStats().RequireAuthorization(),
            services: s =>
            {
                s.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
                    .AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null);
                s.AddAuthorization();
            });

        var anonymous = await app.Client.GetAsync("/_coalesce/stats");
        var request = new HttpRequestMessage(HttpMethod.Get, "/_coalesce/stats");
        request.Headers.Add(HeaderAuthenticationHandler.Header, "ops");
        var operator_ = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, operator_.StatusCode);
        using var json = JsonDocument.Parse(await operator_.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.Object, json.RootElement.GetProperty("requests").ValueKind);
    }

    private static Task<TestApp> StartWorkloadApp(Gate gate) =>
        TestApp.StartAsync(
            a =>
            {
                a.MapGet("/burst", async () =>
                {
                    await gate.EnterAndWaitAsync();
                    return "burst";
                });
                a.MapGet("/sequential", () => "sequential");
                a.MapGet("/failing", string () => throw new InvalidOperationException("backend down"));
                a.MapGet("/memo", () => "memo").WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)));
                a.MapCoalescingStats();
            },
            beforeCoalescing: a => a.UseExceptionHandler(error => error.Run(ctx =>
            {
                ctx.Response.StatusCode = 500;
                return ctx.Response.WriteAsync(ctx.Features.GetRequiredFeature<IExceptionHandlerFeature>().Error.Message);
            })));

    /// <summary>10 concurrent requests to one endpoint, 3 sequential to another, 1 failing, and a memoized miss then hit.</summary>
    private static async Task RunWorkloadAsync(TestApp app, Gate gate)
    {
        var burst = Enumerable.Range(0, 10).Select(_ => app.Client.GetStringAsync("/burst")).ToArray();
        await app.WaitForFollowersAsync(9);
        gate.Open();
        Assert.All(await Task.WhenAll(burst), body => Assert.Equal("burst", body));
        Assert.Equal(1, gate.Executions);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("sequential", await app.Client.GetStringAsync("/sequential"));
        }

        Assert.Equal(HttpStatusCode.InternalServerError, (await app.Client.GetAsync("/failing")).StatusCode);
        Assert.Equal("memo", await app.Client.GetStringAsync("/memo"));
        Assert.Equal("memo", await app.Client.GetStringAsync("/memo"));
    }

    private static List<string> Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];

    private static void AssertFlight(JsonElement flight, long hits, long misses, long errors)
    {
        Assert.Equal(hits, flight.GetProperty("hits").GetInt64());
        Assert.Equal(misses, flight.GetProperty("misses").GetInt64());
        Assert.Equal(errors, flight.GetProperty("errors").GetInt64());
        Assert.Equal(0, flight.GetProperty("active").GetInt64());
        Assert.Equal(hits + misses == 0 ? 0d : Math.Round((double)hits / (hits + misses), 4), flight.GetProperty("hitRate").GetDouble());
    }

    private sealed class HeaderAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "Header";
        public const string Header = "X-Test-User";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(Header, out var user))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString())], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
