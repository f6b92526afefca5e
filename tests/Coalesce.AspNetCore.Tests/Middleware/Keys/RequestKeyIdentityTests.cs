using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// No response crosses identities, however the app tells callers apart: an authentication scheme of any kind,
/// a client certificate, or a header it reads itself. One caller's duplicates still coalesce.
/// </summary>
public sealed class RequestKeyIdentityTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Callers_of_an_api_key_scheme_never_share_while_each_callers_duplicates_do(bool withNameIdentifier)
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/me", async (ClaimsPrincipal user) =>
            {
                await gate.EnterAndWaitAsync();
                return $"data of {user.FindFirst("name")?.Value}";
            }).RequireAuthorization(),
            beforeCoalescing: a =>
            {
                a.UseAuthentication();
                a.UseAuthorization();
            },
            services: s =>
            {
                s.AddAuthentication("ApiKey").AddScheme<ApiKeyOptions, ApiKeyHandler>("ApiKey", o => o.WithNameIdentifier = withNameIdentifier);
                s.AddAuthorization();
            },
            kestrel: true);

        var requests = new[] { "alice-key", "bob-key", "alice-key", "bob-key", "alice-key" }
            .Select(key => (key, body: GetAsync(app, "/me", "X-Secret-Key", key))).ToArray();
        await gate.WaitForExecutionsAsync(2);
        await app.WaitForFollowersAsync(3);
        gate.Open();

        foreach (var (key, body) in requests)
        {
            Assert.Equal($"data of {key[..key.IndexOf('-', StringComparison.Ordinal)]}", await body);
        }

        Assert.Equal(2, gate.Executions);
        Assert.Equal("Unauthorized", await GetStatusAsync(app, "/me"));
    }

    [Fact]
    public async Task Client_certificates_are_part_of_the_identity()
    {
        using var alice = CreateCertificate("alice");
        using var bob = CreateCertificate("bob");
        var certificates = new Dictionary<string, X509Certificate2> { ["alice"] = alice, ["bob"] = bob };
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/cert", async (HttpContext ctx) =>
            {
                await gate.EnterAndWaitAsync();
                return ctx.Connection.ClientCertificate!.Subject;
            }),
            beforeCoalescing: a => a.Use((ctx, next) =>
            {
                // Stands in for TLS client authentication, which sets the connection's certificate.
                ctx.Connection.ClientCertificate = certificates[ctx.Request.Headers["X-Test-Cert"].ToString()];
                return next(ctx);
            }),
            kestrel: true);

        var requests = new[] { "alice", "bob", "alice" }.Select(n => GetAsync(app, "/cert", "X-Test-Cert", n)).ToArray();
        await gate.WaitForExecutionsAsync(2);
        await app.WaitForFollowersAsync(1);
        gate.Open();

        Assert.Equal(["CN=alice", "CN=bob", "CN=alice"], await Task.WhenAll(requests));
        Assert.Equal(2, gate.Executions);
    }

    [Fact]
    public async Task A_header_the_app_reads_identity_from_can_be_declared_an_identity_header()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/tenant", async (HttpContext ctx) =>
            {
                await gate.EnterAndWaitAsync();
                return $"tenant {ctx.Request.Headers["X-Tenant-Token"]}";
            }),
            configure: o => o.IdentityHeaders.Add("X-Tenant-Token"),
            kestrel: true);

        var a1 = GetAsync(app, "/tenant", "X-Tenant-Token", "one");
        var b1 = GetAsync(app, "/tenant", "X-Tenant-Token", "two");
        await gate.WaitForExecutionsAsync(2);
        gate.Open();

        Assert.Equal("tenant one", await a1);
        Assert.Equal("tenant two", await b1);
    }

    [Fact]
    public async Task X_Api_Key_counts_as_identity_by_default()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/data", async (HttpContext ctx) =>
        {
            await gate.EnterAndWaitAsync();
            return $"for {ctx.Request.Headers["X-Api-Key"]}";
        }));

        var alice = GetAsync(app, "/data", "X-Api-Key", "alice-key");
        var bob = GetAsync(app, "/data", "X-Api-Key", "bob-key");
        await gate.WaitForExecutionsAsync(2);
        gate.Open();

        Assert.Equal("for alice-key", await alice);
        Assert.Equal("for bob-key", await bob);
    }

    [Fact]
    public async Task Two_users_never_share_while_each_users_duplicates_still_coalesce()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/me", async (HttpContext ctx) =>
        {
            await gate.EnterAndWaitAsync();
            return $"{ctx.Request.Headers.Authorization}|{ctx.Request.Headers.Cookie}";
        }));

        var alice = Enumerable.Range(0, 5).Select(_ => app.SendAsync(HttpMethod.Get, "/me", authorization: "Bearer alice")).ToList();
        var bob = Enumerable.Range(0, 5).Select(_ => app.SendAsync(HttpMethod.Get, "/me", authorization: "Bearer bob")).ToList();
        var carol = Enumerable.Range(0, 5).Select(_ => app.SendAsync(HttpMethod.Get, "/me", cookie: "session=carol")).ToList();
        var dave = Enumerable.Range(0, 5).Select(_ => app.SendAsync(HttpMethod.Get, "/me", cookie: "session=dave")).ToList();
        await app.WaitForFollowersAsync(16);
        // A follower is counted when it joins, which can be before its leader reaches the handler.
        await gate.WaitForExecutionsAsync(4);
        gate.Open();

        foreach (var (requests, expected) in new[] { (alice, "Bearer alice|"), (bob, "Bearer bob|"), (carol, "|session=carol"), (dave, "|session=dave") })
        {
            foreach (var response in await Task.WhenAll(requests))
            {
                Assert.Equal(expected, await response.Content.ReadAsStringAsync());
            }
        }

        Assert.Equal(4, gate.Executions);
    }

    private static X509Certificate2 CreateCertificate(string name)
    {
        using var key = ECDsa.Create();
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static async Task<string> GetAsync(TestApp app, string path, string header, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add(header, value);
        using var response = await app.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<string> GetStatusAsync(TestApp app, string path)
    {
        using var response = await app.Client.GetAsync(path);
        return response.StatusCode.ToString();
    }

    internal sealed class ApiKeyOptions : AuthenticationSchemeOptions
    {
        public bool WithNameIdentifier { get; set; }
    }

    /// <summary>An API-key scheme that reads a header Coalesce knows nothing about.</summary>
    internal sealed class ApiKeyHandler(IOptionsMonitor<ApiKeyOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<ApiKeyOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var key = Request.Headers["X-Secret-Key"].ToString();
            if (key.Length == 0)
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var name = key[..key.IndexOf('-', StringComparison.Ordinal)];
            List<Claim> claims = [new("name", name)];
            if (Options.WithNameIdentifier)
            {
                claims.Add(new(ClaimTypes.NameIdentifier, $"id-{name}"));
            }

            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, Scheme.Name));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, Scheme.Name)));
        }
    }


}
