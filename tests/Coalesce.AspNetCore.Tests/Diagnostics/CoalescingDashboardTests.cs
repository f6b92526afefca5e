using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

public sealed partial class CoalescingDashboardTests
{
    /// <summary>The test server has no network: this request header says which address the request came from ("none": no address).</summary>
    private const string RemoteHeader = "X-Test-Remote";

    private static readonly string[] DashboardGets =
        ["/_coalesce", "/_coalesce/dashboard.js", "/_coalesce/dashboard.css", "/_coalesce/dashboard/stats"];

    [Fact]
    public async Task The_page_answers_a_loopback_request_with_a_strict_content_security_policy_and_no_inline_script()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard());

        var response = await SendAsync(app, HttpMethod.Get, "/_coalesce", remote: "127.0.0.1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = Assert.Single(response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self';", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());

        // Every script is a separate file under the pattern; the page holds none inline, and no style attribute either.
        var html = await response.Content.ReadAsStringAsync();
        var scripts = ScriptTag().Matches(html);
        var script = Assert.Single(scripts);
        Assert.Matches("^<script src=\"/_coalesce/dashboard\\.js\\?v=[0-9a-f]{16}\" defer></script>$", script.Value);
        Assert.DoesNotContain("style=", html, StringComparison.Ordinal);
        Assert.Contains("data-invalidation=\"off\"", html, StringComparison.Ordinal);
        Assert.Contains("data-token=\"\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_script_and_styles_are_embedded_served_with_an_etag_and_revalidated_with_304()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard());

        foreach (var (path, type) in new[] { ("/_coalesce/dashboard.js", "text/javascript"), ("/_coalesce/dashboard.css", "text/css") })
        {
            var response = await SendAsync(app, HttpMethod.Get, path, remote: "::1");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Contains("immutable", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
            var etag = Assert.IsType<System.Net.Http.Headers.EntityTagHeaderValue>(response.Headers.ETag);
            Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 500);

            var again = await SendAsync(app, HttpMethod.Get, path, remote: "::1", headers: [("If-None-Match", etag.Tag)]);
            Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
            Assert.Empty(await again.Content.ReadAsByteArrayAsync());
        }
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("192.168.0.7")]
    [InlineData("2001:db8::1")]
    [InlineData("none")]
    public async Task Without_a_policy_a_request_that_is_not_from_loopback_gets_404_everywhere(string remote)
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard(), allowInvalidation: true);

        foreach (var path in DashboardGets)
        {
            var response = await SendAsync(app, HttpMethod.Get, path, remote);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }

        var post = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", remote, form: [("kind", "all")]);
        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        Assert.Equal(1, app.Cache.Count);
    }

    [Fact]
    public async Task A_loopback_request_relayed_by_a_proxy_on_the_same_machine_gets_404()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard());

        var forwarded = await SendAsync(app, HttpMethod.Get, "/_coalesce", "127.0.0.1", headers: [("X-Forwarded-For", "203.0.113.9")]);
        var standard = await SendAsync(app, HttpMethod.Get, "/_coalesce/dashboard/stats", "127.0.0.1", headers: [("Forwarded", "for=203.0.113.9")]);
        var mapped = await SendAsync(app, HttpMethod.Get, "/_coalesce", "::ffff:127.0.0.1");

        Assert.Equal(HttpStatusCode.NotFound, forwarded.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, standard.StatusCode);
        Assert.Equal(HttpStatusCode.OK, mapped.StatusCode);
    }

    [Theory]
    [InlineData("evil.example", HttpStatusCode.NotFound)]
    [InlineData("evil.example:5080", HttpStatusCode.NotFound)]
    [InlineData("127.0.0.1:5080", HttpStatusCode.OK)]
    [InlineData("[::1]:5080", HttpStatusCode.OK)]
    [InlineData("LOCALHOST", HttpStatusCode.OK)]
    public async Task A_loopback_request_must_name_a_loopback_host_so_a_rebound_dns_name_gets_404(string host, HttpStatusCode expected)
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard());

        var page = await SendAsync(app, HttpMethod.Get, "/_coalesce", "127.0.0.1", headers: [("Host", host)]);
        var data = await SendAsync(app, HttpMethod.Get, "/_coalesce/dashboard/stats", "127.0.0.1", headers: [("Host", host)]);

        Assert.Equal(expected, page.StatusCode);
        Assert.Equal(expected, data.StatusCode);
    }

    [Fact]
    public async Task With_a_policy_the_policy_decides_whatever_the_address()
    {
        await using var app = await StartAsync(
            a => a.MapCoalescingDashboard().RequireAuthorization(p => p.RequireClaim("role", "ops")),
            services: s =>
            {
                s.AddAuthentication(HeaderAuthenticationHandler.SchemeName)
                    .AddScheme<AuthenticationSchemeOptions, HeaderAuthenticationHandler>(HeaderAuthenticationHandler.SchemeName, null);
                s.AddAuthorization();
            });

        var operatorFar = await SendAsync(app, HttpMethod.Get, "/_coalesce", "10.1.2.3", headers: [(HeaderAuthenticationHandler.Header, "ops")]);
        var operatorData = await SendAsync(app, HttpMethod.Get, "/_coalesce/dashboard/stats", "10.1.2.3", headers: [(HeaderAuthenticationHandler.Header, "ops")]);
        var anonymousLocal = await SendAsync(app, HttpMethod.Get, "/_coalesce", "127.0.0.1");
        var otherUserFar = await SendAsync(app, HttpMethod.Get, "/_coalesce/dashboard.js", "10.1.2.3", headers: [(HeaderAuthenticationHandler.Header, "guest")]);

        Assert.Equal(HttpStatusCode.OK, operatorFar.StatusCode);
        Assert.Equal(HttpStatusCode.OK, operatorData.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymousLocal.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, otherUserFar.StatusCode);
    }

    [Fact]
    public async Task The_page_reads_the_stats_document_from_under_its_own_pattern_whether_or_not_the_app_maps_the_stats_endpoint()
    {
        await using var alone = await StartAsync(a =>
        {
            a.MapGet("/items", () => "items");
            a.MapCoalescingDashboard();
        });
        await using var both = await StartAsync(a =>
        {
            a.MapGet("/items", () => "items");
            a.MapCoalescingStats();
            a.MapCoalescingDashboard();
        });

        foreach (var app in new[] { alone, both })
        {
            await app.Client.GetStringAsync("/items");
            var data = await SendAsync(app, HttpMethod.Get, "/_coalesce/dashboard/stats", "127.0.0.1");
            Assert.Equal(HttpStatusCode.OK, data.StatusCode);
            Assert.Equal("application/json", data.Content.Headers.ContentType?.MediaType);
            using var json = JsonDocument.Parse(await data.Content.ReadAsStringAsync());
            var endpoint = Assert.Single(json.RootElement.GetProperty("endpoints").EnumerateArray());
            Assert.Equal("GET /items", endpoint.GetProperty("name").GetString());
            Assert.Equal(1, endpoint.GetProperty("misses").GetInt64());
        }

        // Beside it, the stats endpoint answers as before, with the same document.
        var stats = await both.Client.GetStringAsync("/_coalesce/stats");
        var copy = await (await SendAsync(both, HttpMethod.Get, "/_coalesce/dashboard/stats", "127.0.0.1")).Content.ReadAsStringAsync();
        Assert.Equal(stats, copy);
        Assert.Equal(HttpStatusCode.NotFound, (await alone.Client.GetAsync("/_coalesce/stats")).StatusCode);
    }

    [Fact]
    public async Task The_page_moves_with_its_pattern_and_the_apps_path_base()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard("/ops/coalesce/"), beforeRouting: a => a.UsePathBase("/shop"));

        var page = await SendAsync(app, HttpMethod.Get, "/shop/ops/coalesce", "127.0.0.1");
        var html = await page.Content.ReadAsStringAsync();
        var script = Assert.Single(ScriptTag().Matches(html)).Value;
        var src = Regex.Match(script, "src=\"([^\"]+)\"").Groups[1].Value;

        Assert.StartsWith("/shop/ops/coalesce/dashboard.js?v=", src, StringComparison.Ordinal);
        Assert.Contains("data-base=\"/shop/ops/coalesce\"", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(app, HttpMethod.Get, src, "127.0.0.1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(app, HttpMethod.Get, "/shop/ops/coalesce/dashboard/stats", "127.0.0.1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(app, HttpMethod.Get, "/shop/_coalesce", "127.0.0.1")).StatusCode);
    }

    [Fact]
    public async Task Invalidation_is_off_unless_enabled_404_and_405_for_other_methods()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard());

        var post = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", "127.0.0.1", form: [("kind", "all")]);
        var get = await SendAsync(app, HttpMethod.Get, "/_coalesce/dashboard/invalidate", "127.0.0.1");

        Assert.Equal(HttpStatusCode.NotFound, post.StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(1, app.Cache.Count);
    }

    [Fact]
    public async Task Invalidation_without_the_antiforgery_token_is_a_400_and_removes_nothing()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard(), allowInvalidation: true);
        var (token, cookie) = await OpenPageAsync(app);

        var none = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", "127.0.0.1", form: [("kind", "all")]);
        var tokenOnly = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", "127.0.0.1",
            headers: [("RequestVerificationToken", token)], form: [("kind", "all")]);
        var cookieOnly = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", "127.0.0.1",
            headers: [("Cookie", cookie)], form: [("kind", "all")]);

        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.Contains("antiforgery token", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, tokenOnly.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, cookieOnly.StatusCode);
        Assert.Equal(1, app.Cache.Count);
    }

    [Fact]
    public async Task Invalidating_a_tag_from_the_page_evicts_the_memoized_response_so_the_next_request_runs_the_endpoint()
    {
        var executions = 0;
        await using var app = await StartAsync(
            a =>
            {
                a.MapGet("/products", () => $"products {Interlocked.Increment(ref executions)}")
                    .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5)).Tag("products"));
                a.MapCoalescingDashboard();
            },
            allowInvalidation: true);
        Assert.Equal("products 1", await app.Client.GetStringAsync("/products"));
        await app.WaitForNoFlightsAsync();
        Assert.Equal("products 1", await app.Client.GetStringAsync("/products"));
        var (token, cookie) = await OpenPageAsync(app);

        var response = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", "127.0.0.1",
            headers: [("RequestVerificationToken", token), ("Cookie", cookie)], form: [("kind", "tag"), ("value", "products")]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.NotNull(response.Headers.GetValues("Content-Security-Policy"));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("tag", json.RootElement.GetProperty("kind").GetString());
        Assert.Equal(1, json.RootElement.GetProperty("removed").GetInt32());
        Assert.Equal("products 2", await app.Client.GetStringAsync("/products"));
        Assert.True(await app.Cache.HasAsync("seed"));
    }

    [Fact]
    public async Task Invalidating_a_key_or_everything_from_the_page_removes_those_entries()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard(), allowInvalidation: true);
        await app.Cache.SetAsync("other", "value");
        var (token, cookie) = await OpenPageAsync(app);
        (string, string)[] headers = [("RequestVerificationToken", token), ("Cookie", cookie)];

        var key = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", "127.0.0.1", headers: headers, form: [("kind", "key"), ("value", "seed")]);
        Assert.Equal(HttpStatusCode.OK, key.StatusCode);
        Assert.False(await app.Cache.HasAsync("seed"));
        Assert.True(await app.Cache.HasAsync("other"));

        var all = await SendAsync(app, HttpMethod.Post, "/_coalesce/dashboard/invalidate", "127.0.0.1", headers: headers, form: [("kind", "all")]);
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        using var json = JsonDocument.Parse(await all.Content.ReadAsStringAsync());
        Assert.Equal(1, json.RootElement.GetProperty("removed").GetInt32());
        Assert.Equal(0, app.Cache.Count);
    }

    [Theory]
    [InlineData("kind=bogus&value=x", "kind must be tag, key or all, not 'bogus'")]
    [InlineData("kind=tag&value=", "a tag to invalidate must be given")]
    [InlineData("kind=key", "a key to invalidate must be given")]
    public async Task A_bad_invalidation_form_is_a_400_naming_the_problem(string body, string message)
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard(), allowInvalidation: true);
        var (token, cookie) = await OpenPageAsync(app);
        var request = new HttpRequestMessage(HttpMethod.Post, "/_coalesce/dashboard/invalidate")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Add(RemoteHeader, "127.0.0.1");
        request.Headers.Add("RequestVerificationToken", token);
        request.Headers.Add("Cookie", cookie);

        var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(message, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1, app.Cache.Count);
    }

    [Fact]
    public async Task The_page_carries_the_antiforgery_token_only_when_invalidation_is_allowed()
    {
        await using var app = await StartAsync(a => a.MapCoalescingDashboard(), allowInvalidation: true);

        var (token, cookie) = await OpenPageAsync(app);

        Assert.NotEmpty(token);
        Assert.StartsWith(".AspNetCore.Antiforgery.", cookie, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_that_do_not_ask_for_the_dashboard_get_nothing_from_it()
    {
        await using var app = await StartAsync(a =>
        {
            a.MapGet("/items", () => "items");
            a.MapCoalescingDashboard();
        });

        var response = await SendAsync(app, HttpMethod.Get, "/items", "10.1.2.3");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Content-Security-Policy"));
        Assert.False(response.Headers.Contains("X-Content-Type-Options"));
    }

    [Fact]
    public async Task The_dashboard_works_on_real_kestrel_over_loopback()
    {
        await using var app = await TestApp.StartAsync(a =>
        {
            a.MapGet("/items", () => "items");
            a.MapCoalescingDashboard();
        }, kestrel: true);
        await app.Client.GetStringAsync("/items");

        var page = await app.Client.GetAsync("/_coalesce");
        var data = await app.Client.GetStringAsync("/_coalesce/dashboard/stats");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<h1>Coalesce</h1>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains("\"name\":\"GET /items\"", data, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("_coalesce")]
    [InlineData("/_coalesce/{id}")]
    [InlineData("/_coalesce?x=1")]
    [InlineData("/a b")]
    public async Task A_pattern_that_is_not_a_literal_path_is_refused_with_a_clear_error(string pattern)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => StartAsync(a => a.MapCoalescingDashboard(pattern)));

        Assert.Contains($"The dashboard's pattern '{pattern}' must be a literal path that starts with '/'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mapping_without_request_coalescing_says_what_to_register()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseSetting("urls", "http://127.0.0.1:0");
        await using var app = builder.Build();

        var error = Assert.Throws<InvalidOperationException>(() => app.MapCoalescingDashboard());

        Assert.Contains("AddRequestCoalescing() before MapCoalescingDashboard()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Allowing_invalidation_without_the_antiforgery_services_is_refused_at_mapping()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a => a.MapCoalescingDashboard(),
            services: s => s.Configure<CoalescingDashboardOptions>(o => o.AllowInvalidation = true)));

        Assert.Contains("AddCoalescingDashboard", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Out_of_range_options_stop_the_app_naming_the_option()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            a => a.MapCoalescingDashboard(),
            services: s => s.AddCoalescingDashboard(o =>
            {
                o.RefreshInterval = TimeSpan.FromMilliseconds(10);
                o.History = TimeSpan.FromHours(2);
            })));

        Assert.Contains("RefreshInterval is 00:00:00.0100000; it must be between 00:00:00.2500000 and 00:01:00.", error.Message, StringComparison.Ordinal);
        Assert.Contains("History is 02:00:00; it must be between", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_bind_from_configuration_and_a_bad_value_names_its_path()
    {
        var good = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Coalesce:Dashboard:AllowInvalidation"] = "true",
            ["Coalesce:Dashboard:RefreshInterval"] = "00:00:05",
            ["Coalesce:Dashboard:History"] = "00:10:00",
        }).Build();
        await using var app = await StartAsync(a => a.MapCoalescingDashboard(), configure: s => s.AddCoalescingDashboard(good.GetSection("Coalesce:Dashboard")));
        var options = app.Services.GetRequiredService<IOptions<CoalescingDashboardOptions>>().Value;
        Assert.True(options.AllowInvalidation);
        Assert.Equal(TimeSpan.FromSeconds(5), options.RefreshInterval);
        var html = await (await SendAsync(app, HttpMethod.Get, "/_coalesce", "127.0.0.1")).Content.ReadAsStringAsync();
        Assert.Contains("data-refresh-ms=\"5000\" data-history-ms=\"600000\" data-invalidation=\"on\"", html, StringComparison.Ordinal);

        var bad = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Coalesce:Dashboard:RefreshInterval"] = "often" }).Build();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a => a.MapCoalescingDashboard(),
            services: s => s.AddCoalescingDashboard(bad.GetSection("Coalesce:Dashboard"))));
        Assert.Contains("'Coalesce:Dashboard:RefreshInterval' = 'often' is not a valid TimeSpan for CoalescingDashboardOptions.RefreshInterval", error.Message, StringComparison.Ordinal);
    }

    /// <summary>An app with the dashboard, one memo entry ("seed", tagged "seed-tag"), and requests' addresses set from <see cref="RemoteHeader"/>.</summary>
    private static async Task<TestApp> StartAsync(
        Action<WebApplication> map,
        bool allowInvalidation = false,
        Action<IServiceCollection>? services = null,
        Action<IServiceCollection>? configure = null,
        Action<WebApplication>? beforeRouting = null)
    {
        var app = await TestApp.StartAsync(
            map,
            services: s =>
            {
                services?.Invoke(s);
                if (configure is not null)
                {
                    configure(s);
                }
                else if (allowInvalidation)
                {
                    s.AddCoalescingDashboard(o => o.AllowInvalidation = true);
                }
            },
            beforeCoalescing: a =>
            {
                beforeRouting?.Invoke(a);
                a.Use((context, next) =>
                {
                    context.Connection.RemoteIpAddress = context.Request.Headers[RemoteHeader].ToString() switch
                    {
                        "" or "none" => null,
                        var address => IPAddress.Parse(address),
                    };
                    return next(context);
                });
            });
        await app.Cache.SetAsync("seed", "value", tags: ["seed-tag"]);
        return app;
    }

    /// <summary>Opens the page from loopback and returns the request token it carries and the antiforgery cookie it set.</summary>
    private static async Task<(string Token, string Cookie)> OpenPageAsync(TestApp app)
    {
        var page = await SendAsync(app, HttpMethod.Get, "/_coalesce", "127.0.0.1");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        var token = WebUtility.HtmlDecode(Regex.Match(html, "data-token=\"([^\"]*)\"").Groups[1].Value);
        var cookie = page.Headers.TryGetValues("Set-Cookie", out var cookies)
            ? cookies.Single(c => c.StartsWith(".AspNetCore.Antiforgery.", StringComparison.Ordinal)).Split(';')[0]
            : "";
        return (token, cookie);
    }

    private static Task<HttpResponseMessage> SendAsync(
        TestApp app, HttpMethod method, string path, string remote, (string Name, string Value)[]? headers = null, (string Name, string Value)[]? form = null)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add(RemoteHeader, remote);
        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (form is not null)
        {
            request.Content = new FormUrlEncodedContent(form.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
        }

        return app.Client.SendAsync(request);
    }

    [GeneratedRegex("<script[^>]*>[^<]*</script>")]
    private static partial Regex ScriptTag();

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

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.ToString()), new Claim("role", user.ToString())], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
