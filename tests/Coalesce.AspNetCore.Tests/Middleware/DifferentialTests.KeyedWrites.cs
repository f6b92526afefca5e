using System.Collections.Concurrent;
using System.Net;
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// Keyed writes under the same load: many concurrent clients send POSTs with a few keys, identities and payloads (and
/// some without a key, and GETs beside them), to an endpoint whose duplicates get 409 and one whose duplicates wait.
/// Every answer is checked against the rules: one execution per identity, endpoint and key; every 2xx is that
/// execution's response, for the same payload; 422 only for another payload; 409 only where duplicates do not wait.
/// </summary>
public sealed partial class DifferentialTests
{
    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public async Task Keyed_writes_run_once_per_identity_endpoint_and_key_and_every_answer_follows_the_rules(int seed)
    {
        var executions = new ConcurrentBag<(string Scope, string Payload, string Body)>();
        var unkeyedRuns = 0;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                foreach (var endpoint in new[] { "conflict", "wait" })
                {
                    var route = a.MapPost($"/keyed/{endpoint}", async (HttpContext context, ClaimsPrincipal user) =>
                    {
                        var payload = await new StreamReader(context.Request.Body).ReadToEndAsync();
                        await Task.Delay(3);
                        var key = context.Request.Headers["Idempotency-Key"].ToString();
                        if (key.Length == 0)
                        {
                            Interlocked.Increment(ref unkeyedRuns);
                            return Results.Text("unkeyed");
                        }

                        var body = $"{endpoint} {Name(user)} {key} {payload} {Guid.NewGuid()}";
                        executions.Add(($"{endpoint} {Name(user)} {key}", payload, body));
                        return Results.Text(body, statusCode: 201);
                    });
                    route.WithIdempotency(p =>
                    {
                        if (endpoint == "wait")
                        {
                            p.WaitForDuplicates();
                        }
                    });
                }

                a.MapGet("/keyed/read", (ClaimsPrincipal user) => $"read by {Name(user)}");
            },
            beforeCoalescing: a => a.UseAuthentication(),
            services: s => s.AddAuthentication("ApiKey")
                .AddScheme<RequestKeyIdentityTests.ApiKeyOptions, RequestKeyIdentityTests.ApiKeyHandler>("ApiKey", o => o.WithNameIdentifier = true),
            kestrel: true);

        var random = new Random(seed);
        var specs = Enumerable.Range(0, Requests).Select(_ => KeyedSpec.Random(random)).ToArray();
        var answers = new ConcurrentBag<(KeyedSpec Spec, HttpStatusCode Status, string Body, bool Replayed)>();
        var next = -1;

        async Task WorkAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < specs.Length)
            {
                var spec = specs[i];
                using var request = new HttpRequestMessage(spec.Endpoint == "read" ? HttpMethod.Get : HttpMethod.Post, $"/keyed/{spec.Endpoint}");
                if (spec.Endpoint != "read")
                {
                    request.Content = new StringContent(spec.Payload, Encoding.UTF8, "text/plain");
                }

                if (spec.Key is not null)
                {
                    request.Headers.TryAddWithoutValidation("Idempotency-Key", spec.Key);
                }

                if (spec.User is not null)
                {
                    request.Headers.TryAddWithoutValidation("X-Secret-Key", spec.User);
                }

                using var response = await app.Client.SendAsync(request);
                answers.Add((spec, response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Contains("Idempotent-Replayed")));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(WorkAsync))).WaitAsync(TimeSpan.FromMinutes(2));

        // One execution per scope.
        var ran = executions.GroupBy(e => e.Scope).ToDictionary(g => g.Key, g => Assert.Single(g));
        var problems = new List<string>();
        foreach (var (spec, status, body, replayed) in answers)
        {
            var scope = $"{spec.Endpoint} {NameOf(spec.User)} {spec.Key}";
            var expected = spec switch
            {
                { Endpoint: "read" } => status == HttpStatusCode.OK && body == $"read by {NameOf(spec.User)}" && !replayed,
                { Key: null } => status == HttpStatusCode.OK && body == "unkeyed" && !replayed,
                _ when !ran.ContainsKey(scope) => false,
                _ when spec.Payload != ran[scope].Payload => status == HttpStatusCode.UnprocessableEntity,
                { Endpoint: "conflict" } when status == HttpStatusCode.Conflict => true,
                _ => status == HttpStatusCode.Created && body == ran[scope].Body,
            };
            if (!expected)
            {
                problems.Add($"{spec}: {(int)status} {body[..Math.Min(body.Length, 120)]}");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems.Take(5)));

        // Exactly one answer per scope is the execution itself; every other 2xx is a replay.
        foreach (var group in answers.Where(a => a.Status == HttpStatusCode.Created).GroupBy(a => $"{a.Spec.Endpoint} {NameOf(a.Spec.User)} {a.Spec.Key}"))
        {
            Assert.Single(group, a => !a.Replayed);
        }

        Assert.Equal(answers.Count(a => a.Spec.Key is null && a.Spec.Endpoint != "read"), unkeyedRuns);
        var stats = app.Stats.GetSnapshot().Endpoints.Where(e => e.Name.StartsWith("POST", StringComparison.Ordinal)).ToList();
        Assert.Equal(ran.Count, stats.Sum(e => e.IdempotencyClaims));
        Assert.Equal(answers.Count(a => a.Spec.Key is not null && a.Spec.Endpoint != "read"),
            stats.Sum(e => e.IdempotencyClaims + e.IdempotencyReplays + e.IdempotencyConflicts + e.IdempotencyMismatches));
        Assert.Equal(0, stats.Single(e => e.Name == "POST /keyed/wait").IdempotencyConflicts);
        Assert.True(stats.Sum(e => e.IdempotencyReplays) > 0 && stats.Sum(e => e.IdempotencyMismatches) > 0, "The load should replay and mismatch keys.");
    }

    private static string NameOf(string? secret) => secret is null ? "anonymous" : secret[..secret.IndexOf('-', StringComparison.Ordinal)];

    private sealed record KeyedSpec(string Endpoint, string? Key, string? User, string Payload)
    {
        private static readonly string?[] Users = [null, "alice-key", "alice-other", "bob-key"];

        public static KeyedSpec Random(Random random) => new(
            random.Next(8) switch { 0 => "read", < 4 => "conflict", _ => "wait" },
            random.Next(10) == 0 ? null : $"key-{random.Next(6)}",
            Users[random.Next(Users.Length)],
            random.Next(5) == 0 ? "{\"qty\":2}" : "{\"qty\":1}");

        public override string ToString() => $"{Endpoint} key={Key} user={User} payload={Payload}";
    }
}
