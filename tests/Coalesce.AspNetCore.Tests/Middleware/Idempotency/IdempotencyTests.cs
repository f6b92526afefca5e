using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Coalesce.AspNetCore.Tests.Middleware.Idempotency;

/// <summary>Idempotency keys end to end, on real Kestrel over loopback.</summary>
public sealed class IdempotencyTests
{
    private const string Json = "application/json";

    [Fact]
    public async Task Fifty_concurrent_identical_keyed_posts_run_the_handler_once_and_the_duplicates_get_409()
    {
        var gate = new Gate();
        await using var app = await StartAsync(a => a.MapPost("/orders", async (HttpContext c) =>
        {
            var run = await gate.EnterAndWaitAsync(c.RequestAborted);
            return Results.Text($"order run {run}");
        }).WithIdempotency());

        var first = SendAsync(app, HttpMethod.Post, "/orders", "k-1", "{\"sku\":1}");
        await gate.WaitForExecutionsAsync(1);
        var duplicates = await Task.WhenAll(Enumerable.Range(0, 49).Select(_ => SendAsync(app, HttpMethod.Post, "/orders", "k-1", "{\"sku\":1}")));
        gate.Open();
        var answer = await first;

        Assert.Equal(1, gate.Executions);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("order run 1", await answer.Content.ReadAsStringAsync());
        foreach (var duplicate in duplicates)
        {
            Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
            Assert.Equal("application/problem+json", duplicate.Content.Headers.ContentType?.MediaType);
            Assert.Equal("1", duplicate.Headers.GetValues("Retry-After").Single());
            Assert.Contains("\"status\":409", await duplicate.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var stats = app.Stats.GetSnapshot().Endpoints.Single(e => e.Name == "POST /orders");
        Assert.Equal((1, 0, 49, 0), (stats.IdempotencyClaims, stats.IdempotencyReplays, stats.IdempotencyConflicts, stats.IdempotencyMismatches));
    }

    [Fact]
    public async Task Fifty_concurrent_identical_keyed_posts_that_wait_for_duplicates_share_one_response()
    {
        var gate = new Gate();
        await using var app = await StartAsync(a => a.MapPost("/orders", async (HttpContext c) =>
        {
            var run = await gate.EnterAndWaitAsync(c.RequestAborted);
            c.Response.Headers["X-Order"] = Guid.NewGuid().ToString();
            return Results.Created($"/orders/{run}", new { run });
        }).WithIdempotency(p => p.WaitForDuplicates()));

        var all = Enumerable.Range(0, 50).Select(_ => SendAsync(app, HttpMethod.Post, "/orders", "k-2", "{\"sku\":2}")).ToList();
        await gate.WaitForExecutionsAsync(1);
        await TestApp.WaitUntilAsync(() => app.Stats.GetSnapshot().Endpoints.Single(e => e.Name == "POST /orders").IdempotencyClaims == 1, "the claim");
        gate.Open();
        var answers = await Task.WhenAll(all);

        Assert.Equal(1, gate.Executions);
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.StatusCode));
        Assert.Single(answers.Select(a => a.Headers.GetValues("X-Order").Single()).Distinct());
        Assert.Single(answers.Select(a => a.Headers.Location?.ToString()).Distinct());
        Assert.Equal(49, answers.Count(a => a.Headers.TryGetValues(IdempotentRequests.ReplayedHeader, out var v) && v.Single() == "true"));
        Assert.Single((await Task.WhenAll(answers.Select(a => a.Content.ReadAsStringAsync()))).Distinct());
    }

    [Fact]
    public async Task A_retry_after_completion_replays_status_headers_and_body_byte_for_byte_with_the_replay_header()
    {
        var runs = 0;
        var body = new byte[70_000];
        Random.Shared.NextBytes(body);
        await using var app = await StartAsync(
            a => a.MapPost("/payments", async (HttpContext c) =>
            {
                Interlocked.Increment(ref runs);
                c.Response.StatusCode = 201;
                c.Response.ContentType = "application/octet-stream";
                c.Response.Headers.Location = "/payments/1";
                c.Response.Headers["X-Run"] = Guid.NewGuid().ToString();
                await c.Response.Body.WriteAsync(body);
            }).WithIdempotency(),
            o => o.EmitCacheStatus = true);

        var first = await SendAsync(app, HttpMethod.Post, "/payments", "pay-1", "{\"amount\":5}");
        var retry = await SendAsync(app, HttpMethod.Post, "/payments", "pay-1", "{\"amount\":5}");

        Assert.Equal(1, runs);
        Assert.False(first.Headers.Contains(IdempotentRequests.ReplayedHeader));
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", retry.Headers.GetValues(IdempotentRequests.ReplayedHeader).Single());
        Assert.Equal("Coalesce; hit; detail=idempotent-replay", retry.Headers.GetValues("Cache-Status").Single());
        Assert.Equal(first.Headers.GetValues("X-Run").Single(), retry.Headers.GetValues("X-Run").Single());
        Assert.Equal("/payments/1", retry.Headers.Location?.ToString());
        Assert.Equal("application/octet-stream", retry.Content.Headers.ContentType?.MediaType);
        Assert.Equal(body, await first.Content.ReadAsByteArrayAsync());
        Assert.Equal(body, await retry.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task The_same_key_with_another_payload_query_or_content_type_gets_422_before_and_after_completion()
    {
        var gate = new Gate();
        await using var app = await StartAsync(a => a.MapPost("/orders", async (HttpContext c) =>
        {
            await gate.EnterAndWaitAsync(c.RequestAborted);
            return "placed";
        }).WithIdempotency());

        var first = SendAsync(app, HttpMethod.Post, "/orders", "k-3", "{\"sku\":1}");
        await gate.WaitForExecutionsAsync(1);
        var whileRunning = await SendAsync(app, HttpMethod.Post, "/orders", "k-3", "{\"sku\":2}");
        gate.Open();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, whileRunning.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await SendAsync(app, HttpMethod.Post, "/orders", "k-3", "{\"sku\":2}")).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await SendAsync(app, HttpMethod.Post, "/orders?x=1", "k-3", "{\"sku\":1}")).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await SendAsync(app, HttpMethod.Post, "/orders", "k-3", "{\"sku\":1}", contentType: "text/plain")).StatusCode);
        var mismatch = await SendAsync(app, HttpMethod.Post, "/orders", "k-3", "{\"sku\":3}");
        Assert.Equal("application/problem+json", mismatch.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("k-3", await mismatch.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(app, HttpMethod.Post, "/orders", "k-3", "{\"sku\":1}")).StatusCode);
        Assert.Equal(1, gate.Executions);
        Assert.Equal(5, app.Stats.GetSnapshot().Endpoints.Single(e => e.Name == "POST /orders").IdempotencyMismatches);
    }

    [Fact]
    public async Task Two_identities_with_the_same_key_are_independent_and_one_identity_across_credentials_is_one()
    {
        var runs = 0;
        await using var app = await StartAsync(
            a => a.MapPost("/orders", (HttpContext c) => $"run {Interlocked.Increment(ref runs)} for {c.User.FindFirst("name")?.Value}").WithIdempotency(),
            beforeCoalescing: a => a.UseAuthentication(),
            services: s => s.AddAuthentication("ApiKey")
                .AddScheme<RequestKeyIdentityTests.ApiKeyOptions, RequestKeyIdentityTests.ApiKeyHandler>("ApiKey", o => o.WithNameIdentifier = true));

        var alice = await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "same", "{}", secret: "alice-1"));
        var bob = await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "same", "{}", secret: "bob-1"));
        var anonymous = await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "same", "{}"));
        var aliceAgain = await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "same", "{}", secret: "alice-2"));

        Assert.Equal("run 1 for alice", alice);
        Assert.Equal("run 2 for bob", bob);
        Assert.Equal("run 3 for ", anonymous);
        Assert.Equal("run 1 for alice", aliceAgain);
        Assert.Equal(3, runs);
    }

    [Fact]
    public async Task A_key_runs_again_once_its_retention_has_passed()
    {
        var runs = 0;
        await using var app = await StartAsync(a => a.MapPost("/orders", () => $"run {Interlocked.Increment(ref runs)}")
            .WithIdempotency(p => p.KeepFor(TimeSpan.FromMinutes(10))));

        Assert.Equal("run 1", await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "k-4", "{}")));
        app.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal("run 1", await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "k-4", "{}")));
        app.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal("run 2", await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "k-4", "{}")));
        Assert.Equal("run 2", await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "k-4", "{}")));
    }

    [Fact]
    public async Task Server_errors_and_exceptions_are_not_kept_so_a_retry_runs_again_but_4xx_is_kept()
    {
        var runs = 0;
        await using var app = await StartAsync(a =>
        {
            a.MapPost("/5xx", () => Results.StatusCode(500 + Interlocked.Increment(ref runs) % 2)).WithIdempotency();
            a.MapPost("/throws", IResult () => Interlocked.Increment(ref runs) > 0 ? throw new InvalidOperationException("boom") : Results.Ok()).WithIdempotency();
            a.MapPost("/4xx", () => Results.BadRequest($"run {Interlocked.Increment(ref runs)}")).WithIdempotency();
            a.MapPost("/5xx-kept", () => Results.Text($"run {Interlocked.Increment(ref runs)}", statusCode: 503))
                .WithIdempotency(p => p.KeepOutcomes(IdempotencyOutcomes.Default | IdempotencyOutcomes.ServerError));
        }, beforeCoalescing: a => a.UseExceptionHandler(e => e.Run(c =>
        {
            c.Response.StatusCode = 500;
            return c.Response.WriteAsync("handled");
        })));

        var first = await SendAsync(app, HttpMethod.Post, "/5xx", "k", "{}");
        var second = await SendAsync(app, HttpMethod.Post, "/5xx", "k", "{}");
        Assert.NotEqual(first.StatusCode, second.StatusCode);
        Assert.False(second.Headers.Contains(IdempotentRequests.ReplayedHeader));
        Assert.Equal(2, runs);

        Assert.Equal("handled", await ReadAsync(SendAsync(app, HttpMethod.Post, "/throws", "k", "{}")));
        Assert.Equal("handled", await ReadAsync(SendAsync(app, HttpMethod.Post, "/throws", "k", "{}")));
        Assert.Equal(4, runs);

        var bad = await ReadAsync(SendAsync(app, HttpMethod.Post, "/4xx", "k", "{}"));
        Assert.Equal(bad, await ReadAsync(SendAsync(app, HttpMethod.Post, "/4xx", "k", "{}")));
        Assert.Equal(5, runs);

        var kept = await SendAsync(app, HttpMethod.Post, "/5xx-kept", "k", "{}");
        var replay = await SendAsync(app, HttpMethod.Post, "/5xx-kept", "k", "{}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, replay.StatusCode);
        Assert.Equal(await kept.Content.ReadAsStringAsync(), await replay.Content.ReadAsStringAsync());
        Assert.True(replay.Headers.Contains(IdempotentRequests.ReplayedHeader));
        Assert.Equal(6, runs);
    }

    [Fact]
    public async Task A_missing_required_key_or_a_malformed_key_gets_400_problem_details_and_never_runs_the_handler()
    {
        var runs = 0;
        await using var app = await StartAsync(a => a.MapPost("/orders", () => $"run {Interlocked.Increment(ref runs)}").WithIdempotency(p => p.RequireKey()));

        var missing = await SendAsync(app, HttpMethod.Post, "/orders", key: null, "{}");
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.MediaTypeOrNull());
        Assert.Contains("Idempotency-Key", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        foreach (var bad in new[] { new string('x', 256), "", "\"unterminated\\\"", "a\tb" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent("{}", Encoding.UTF8, Json) };
            request.Headers.TryAddWithoutValidation("Idempotency-Key", bad);
            var answer = await app.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
            Assert.DoesNotContain(bad.Length > 0 ? bad : "\"detail\":\"\"", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var two = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent("{}", Encoding.UTF8, Json) };
        two.Headers.TryAddWithoutValidation("Idempotency-Key", ["a", "b"]);
        Assert.Equal(HttpStatusCode.BadRequest, (await app.Client.SendAsync(two)).StatusCode);

        Assert.Equal(0, runs);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(app, HttpMethod.Post, "/orders", "\"quoted-key\"", "{}")).StatusCode);
        Assert.Equal("run 1", await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", "\"quoted-key\"", "{}")));
        Assert.Equal(6, app.Stats.GetSnapshot().Endpoints.Single(e => e.Name == "POST /orders").IdempotencyRejections);
    }

    [Fact]
    public async Task Without_a_key_and_without_RequireKey_every_request_runs()
    {
        var runs = 0;
        await using var app = await StartAsync(a => a.MapPost("/orders", () => $"run {Interlocked.Increment(ref runs)}").WithIdempotency());

        Assert.Equal("run 1", await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", key: null, "{}")));
        Assert.Equal("run 2", await ReadAsync(SendAsync(app, HttpMethod.Post, "/orders", key: null, "{}")));
    }

    [Fact]
    public async Task Safe_methods_pass_through_untouched_in_a_group_that_requires_keys_while_put_patch_and_delete_are_keyed()
    {
        var runs = 0;
        await using var app = await StartAsync(a =>
        {
            var group = a.MapGroup("/api").WithIdempotency(p => p.RequireKey());
            group.MapGet("/items", () => $"get {Interlocked.Increment(ref runs)}");
            group.MapMethods("/items", ["OPTIONS"], () => $"options {Interlocked.Increment(ref runs)}");
            group.MapPut("/items", () => $"put {Interlocked.Increment(ref runs)}");
            group.MapPatch("/items", () => $"patch {Interlocked.Increment(ref runs)}");
            group.MapDelete("/items", () => $"delete {Interlocked.Increment(ref runs)}");
        });

        Assert.Equal("get 1", await ReadAsync(SendAsync(app, HttpMethod.Get, "/api/items", key: null, body: null)));
        Assert.Equal("options 2", await ReadAsync(SendAsync(app, HttpMethod.Options, "/api/items", key: "k", body: null)));
        Assert.Equal("options 3", await ReadAsync(SendAsync(app, HttpMethod.Options, "/api/items", key: "k", body: null)));
        foreach (var method in new[] { HttpMethod.Put, HttpMethod.Patch, HttpMethod.Delete })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(app, method, "/api/items", key: null, "{}")).StatusCode);
            var first = await ReadAsync(SendAsync(app, method, "/api/items", "k", "{}"));
            Assert.Equal(first, await ReadAsync(SendAsync(app, method, "/api/items", "k", "{}")));
        }

        Assert.Equal(6, runs);
        Assert.DoesNotContain(app.Stats.GetSnapshot().Endpoints, e => e.Name.StartsWith("GET", StringComparison.Ordinal) && e.IdempotencyClaims + e.IdempotencyRejections > 0);
    }

    [Fact]
    public async Task Keyed_requests_are_measured_on_the_Coalesce_meter()
    {
        await using var app = await StartAsync(a => a.MapPost("/orders", () => "ok").WithIdempotency());
        var factory = app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        using var collector = new MetricCollector<long>(factory, "Coalesce", "coalesce.server.idempotent_requests");

        await SendAsync(app, HttpMethod.Post, "/orders", "m", "{}");
        await SendAsync(app, HttpMethod.Post, "/orders", "m", "{}");
        await SendAsync(app, HttpMethod.Post, "/orders", "m", "{\"other\":1}");

        var results = collector.GetMeasurementSnapshot().Select(m => (string)m.Tags["coalesce.idempotency.result"]!).ToList();
        Assert.Equal(["claimed", "replayed", "mismatch"], results);
        Assert.All(collector.GetMeasurementSnapshot(), m => Assert.Equal("/orders", m.Tags["http.route"]));
    }

    [Fact]
    public async Task A_large_body_spills_past_the_memory_threshold_and_the_handler_still_reads_it_all()
    {
        var seen = new List<int>();
        await using var app = await StartAsync(
            a => a.MapPost("/upload", async (HttpContext c) =>
            {
                using var copy = new MemoryStream();
                await c.Request.Body.CopyToAsync(copy);
                lock (seen) { seen.Add((int)copy.Length); }
                return $"{copy.Length}";
            }).WithIdempotency(),
            o => o.IdempotencyBodyMemoryThreshold = 1024);

        var body = new string('a', 300_000);
        Assert.Equal("300000", await ReadAsync(SendAsync(app, HttpMethod.Post, "/upload", "u", body)));
        Assert.Equal("300000", await ReadAsync(SendAsync(app, HttpMethod.Post, "/upload", "u", body)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await SendAsync(app, HttpMethod.Post, "/upload", "u", body + "b")).StatusCode);
        Assert.Equal([300_000], seen);
    }

    [Fact]
    public async Task A_waiting_duplicate_gets_409_at_the_wait_timeout_and_the_stats_endpoint_shows_the_figures()
    {
        var gate = new Gate();
        await using var app = await StartAsync(
            a =>
            {
                a.MapPost("/orders", async (HttpContext c) => await gate.EnterAndWaitAsync(c.RequestAborted)).WithIdempotency(p => p.WaitForDuplicates());
                a.MapCoalescingStats();
            },
            o => o.WaitTimeout = TimeSpan.FromSeconds(5));

        var first = SendAsync(app, HttpMethod.Post, "/orders", "w", "{}");
        await gate.WaitForExecutionsAsync(1);
        var timers = app.Time.PendingTimers;
        var duplicate = SendAsync(app, HttpMethod.Post, "/orders", "w", "{}");
        await TestApp.WaitUntilAsync(() => app.Time.PendingTimers > timers, "the duplicate's wait");
        app.Time.Advance(TimeSpan.FromSeconds(5));
        var answer = await duplicate;
        gate.Open();
        await first;

        Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
        Assert.Equal(1, gate.Executions);
        var json = await app.Client.GetStringAsync("/_coalesce/stats");
        Assert.Contains("\"name\":\"POST /orders\"", json, StringComparison.Ordinal);
        Assert.Contains("\"idempotencyClaims\":1,\"idempotencyReplays\":0,\"idempotencyConflicts\":1,\"idempotencyMismatches\":0,\"idempotencyRejections\":0", json, StringComparison.Ordinal);
    }

    internal static Task<TestApp> StartAsync(
        Action<WebApplication> map,
        Action<RequestCoalescingOptions>? configure = null,
        Action<WebApplication>? beforeCoalescing = null,
        Action<IServiceCollection>? services = null) =>
        TestApp.StartAsync(map, configure, beforeCoalescing: beforeCoalescing, services: services, kestrel: true);

    internal static Task<HttpResponseMessage> SendAsync(
        TestApp app, HttpMethod method, string url, string? key, string? body, string contentType = Json, string? secret = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, contentType);
        }

        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        if (secret is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Secret-Key", secret);
        }

        return app.Client.SendAsync(request);
    }

    internal static async Task<string> ReadAsync(Task<HttpResponseMessage> response) => await (await response).Content.ReadAsStringAsync();
}

internal static class ContentExtensions
{
    public static string? MediaTypeOrNull(this HttpContent content) => content.Headers.ContentType?.MediaType;
}
