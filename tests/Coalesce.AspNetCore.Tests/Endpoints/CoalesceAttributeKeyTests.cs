using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>
/// <c>[Coalesce]</c> gives MVC actions the key controls of a minimal API's policy: <c>VaryByHeader</c>,
/// <c>VaryByRouteValue</c> and <c>VaryByIdentity</c>, each tried on a real controller with concurrent requests held at
/// a gate.
/// </summary>
public sealed class CoalesceAttributeKeyTests
{
    /// <summary>
    /// An app with the test assembly's controllers, where only attributed actions coalesce. A middleware between routing
    /// and coalescing gives each request the next of <paramref name="regions"/> as the route value <c>region</c>, as a
    /// tenant-resolving middleware or a dynamic route would; the value depends on nothing in the request, so only the key
    /// can tell two requests apart.
    /// </summary>
    private static Task<TestApp> StartAsync(Gate gate, bool varyByIdentity = true, params string[] regions)
    {
        var next = -1;
        return TestApp.StartAsync(
            a => a.MapControllers(),
            o =>
            {
                o.CoalesceAllGetRequests = false;
                o.VaryByIdentity = varyByIdentity;
                o.AddPolicy("reports", p => p.Memoize(TimeSpan.FromMinutes(1)));   // named by another test's controller
            },
            beforeCoalescing: app => app.Use((context, nextMiddleware) =>
            {
                if (regions.Length > 0)
                {
                    context.Request.RouteValues["region"] = regions[Interlocked.Increment(ref next) % regions.Length];
                }

                return nextMiddleware(context);
            }),
            services: s =>
            {
                s.AddSingleton(gate);
                s.AddControllers().AddApplicationPart(typeof(KeyedController).Assembly);
            });
    }

    private static HttpRequestMessage Get(string path, string? header = null, string? value = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation(header, value);
        }

        return request;
    }

    /// <summary>Sends both at once, waits until they ran apart or one joined the other, opens the gate, returns the bodies.</summary>
    private static async Task<string[]> SendTogetherAsync(TestApp app, Gate gate, int executions, HttpRequestMessage first, HttpRequestMessage second)
    {
        var calls = new[] { app.Client.SendAsync(first), app.Client.SendAsync(second) };
        await gate.WaitForExecutionsAsync(executions);
        if (executions == 1)
        {
            await app.WaitForFollowersAsync(1);
        }

        gate.Open();
        var bodies = new string[2];
        for (var i = 0; i < 2; i++)
        {
            using var response = await calls[i];
            response.EnsureSuccessStatusCode();
            bodies[i] = await response.Content.ReadAsStringAsync();
        }

        Assert.Equal(executions, gate.Executions);
        return bodies;
    }

    [Fact]
    public async Task Requests_that_differ_in_a_header_the_attribute_names_do_not_share()
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate);

        var bodies = await SendTogetherAsync(app, gate, executions: 2, Get("/mvc/keys/header", "X-Tenant", "acme"), Get("/mvc/keys/header", "X-Tenant", "globex"));

        Assert.Equal(["tenant acme", "tenant globex"], bodies);
    }

    [Fact]
    public async Task Requests_with_the_same_value_of_a_header_the_attribute_names_share()
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate);

        var bodies = await SendTogetherAsync(app, gate, executions: 1, Get("/mvc/keys/header", "X-Tenant", "acme"), Get("/mvc/keys/header", "X-Tenant", "acme"));

        Assert.Equal(["tenant acme", "tenant acme"], bodies);
    }

    [Fact]
    public async Task Requests_that_differ_in_a_route_value_the_attribute_names_do_not_share()
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate, regions: ["eu", "us"]);

        var bodies = await SendTogetherAsync(app, gate, executions: 2, Get("/mvc/keys/region"), Get("/mvc/keys/region"));

        Assert.Equal(["region eu", "region us"], bodies.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Requests_that_differ_in_a_route_value_the_attribute_does_not_name_share()
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate, regions: ["eu", "us"]);

        var bodies = await SendTogetherAsync(app, gate, executions: 1, Get("/mvc/keys/region-unkeyed"), Get("/mvc/keys/region-unkeyed"));

        Assert.Single(bodies.Distinct());
    }

    [Theory]
    [InlineData("identity-off", true, 1)]         // the attribute lets different callers share although the app keys identity
    [InlineData("identity-on", false, 2)]         // the attribute keys identity although the app does not
    [InlineData("identity-default", true, 2)]     // unset: the app's setting
    [InlineData("identity-default", false, 1)]
    public async Task VaryByIdentity_on_the_attribute_decides_whether_different_callers_share(string action, bool appVariesByIdentity, int executions)
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate, varyByIdentity: appVariesByIdentity);

        await SendTogetherAsync(
            app, gate, executions, Get($"/mvc/keys/{action}", "Authorization", "Bearer alice"), Get($"/mvc/keys/{action}", "Authorization", "Bearer bob"));
    }

    [Fact]
    public void The_key_settings_build_the_policy_and_count_as_inline_settings()
    {
        var attribute = new CoalesceAttribute { VaryByRouteValue = ["region"], VaryByIdentity = false };
        var unset = new CoalesceAttribute();

        Assert.Equal(["region"], attribute.Policy.VaryByRouteValues);
        Assert.False(attribute.Policy.VaryByIdentity);
        Assert.True(attribute.HasInlineSettings);
        Assert.Null(unset.Policy.VaryByIdentity);
        Assert.True(unset.VaryByIdentity);                 // reads as the app option's default when unset
        Assert.False(unset.HasInlineSettings);
        Assert.True(new CoalesceAttribute { VaryByIdentity = true }.HasInlineSettings);
        Assert.True(new CoalesceAttribute { VaryByRouteValue = [] }.HasInlineSettings);
    }

    [Fact]
    public async Task An_attribute_that_names_a_policy_and_sets_key_settings_or_an_empty_name_fails_start_up()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a =>
            {
                a.MapGet("/named-and-identity", [Coalesce(PolicyName = "reports", VaryByIdentity = false)] () => "never");
                a.MapGet("/named-and-route", [Coalesce(PolicyName = "reports", VaryByRouteValue = ["id"])] () => "never");
                a.MapGet("/empty-route-value", [Coalesce(VaryByRouteValue = [""])] () => "never");
            },
            o => o.AddPolicy("reports", p => p.Memoize(TimeSpan.FromMinutes(1)))));

        Assert.Contains("3 endpoint(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/named-and-identity", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/named-and-route", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/empty-route-value", ex.Message, StringComparison.Ordinal);
        Assert.Contains("routeValueNames", ex.Message, StringComparison.Ordinal);
    }
}

[ApiController]
[Route("mvc/keys")]
public sealed class KeyedController : ControllerBase
{
    [HttpGet("header")]
    [Coalesce(VaryByHeader = ["X-Tenant"])]
    public Task<string> Header() => RunAsync($"tenant {Request.Headers["X-Tenant"]}");

    [HttpGet("region")]
    [Coalesce(VaryByRouteValue = ["region"])]
    public Task<string> Region() => RunAsync($"region {RouteData.Values["region"]}");

    [HttpGet("region-unkeyed")]
    [Coalesce]
    public Task<string> RegionUnkeyed() => RunAsync($"region {RouteData.Values["region"]}");

    [HttpGet("identity-off")]
    [Coalesce(VaryByIdentity = false)]
    public Task<string> IdentityOff() => RunAsync("report");

    [HttpGet("identity-on")]
    [Coalesce(VaryByIdentity = true)]
    public Task<string> IdentityOn() => RunAsync("report");

    [HttpGet("identity-default")]
    [Coalesce]
    public Task<string> IdentityDefault() => RunAsync("report");

    private async Task<string> RunAsync(string body)
    {
        var gate = HttpContext.RequestServices.GetRequiredService<Gate>();
        gate.Enter();
        await gate.WaitAsync(HttpContext.RequestAborted);
        return body;
    }
}
