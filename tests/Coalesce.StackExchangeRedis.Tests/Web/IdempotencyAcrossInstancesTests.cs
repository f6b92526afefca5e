using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Idempotency keys across instances: two app instances (each its own WebApplication on Kestrel, container and
/// multiplexer) on one real Redis give a keyed request the same answers as one instance does.
/// </summary>
public sealed class IdempotencyAcrossInstancesTests
{
    // Scheduling on two shared cores, on top of Redis round trips.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1.5);

    [RedisFact]
    public async Task A_retry_on_another_instance_replays_the_first_response_and_another_payload_gets_422()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var orders = new Orders();
        await using var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2, endpoints: orders.Map);
        var (a, b) = (nodes[0], nodes[1]);

        using var first = await PostAsync(a, "/orders", "k-1", "{\"sku\":1}");
        using var retry = await PostAsync(b, "/orders", "k-1", "{\"sku\":1}");
        using var changed = await PostAsync(b, "/orders", "k-1", "{\"sku\":2}");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(Assert.Single(first.Headers.GetValues("X-Order")), Assert.Single(retry.Headers.GetValues("X-Order")));
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await retry.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, changed.StatusCode);
        Assert.Equal(["n0"], orders.Runs);
    }

    [RedisFact]
    public async Task A_duplicate_on_another_instance_while_the_first_runs_gets_409_or_waits_for_the_same_response()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var orders = new Orders { Gated = true };
        await using var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2, endpoints: orders.Map);
        var (a, b) = (nodes[0], nodes[1]);

        foreach (var path in new[] { "/orders", "/orders/waiting" })
        {
            var runs = orders.Runs.Count;
            var leading = PostAsync(a, path, "k-2", "{}");
            await Eventually.TrueAsync(() => orders.Runs.Count == runs + 1, "A's handler started");
            var duplicate = PostAsync(b, path, "k-2", "{}");
            var mismatch = await PostAsync(b, path, "k-2", "{\"other\":1}");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, mismatch.StatusCode);

            if (path == "/orders")
            {
                using var conflict = await duplicate;
                Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
                Assert.Equal("1", Assert.Single(conflict.Headers.GetValues("Retry-After")));
                orders.Open();
                using var led = await leading;
                Assert.Equal(HttpStatusCode.Created, led.StatusCode);
            }
            else
            {
                await Eventually.TrueAsync(() => b.Services.GetStats().Endpoints.Any(e => e.Name == "POST /orders/waiting" && e.IdempotencyMismatches == 1), "B's mismatch counted");
                orders.Open();
                using var led = await leading;
                using var waited = await duplicate;
                Assert.Equal(HttpStatusCode.Created, waited.StatusCode);
                Assert.Equal("true", Assert.Single(waited.Headers.GetValues("Idempotent-Replayed")));
                Assert.Equal(await led.Content.ReadAsStringAsync(), await waited.Content.ReadAsStringAsync());
            }

            orders.Close();
        }

        Assert.Equal(["n0", "n0"], orders.Runs);
    }

    [RedisFact]
    public async Task A_claiming_instance_stopped_mid_request_lets_a_retry_run_once_its_lease_lapses()
    {
        var lease = TimeSpan.FromSeconds(1);
        await using var redis = await RedisServerFixture.StartAsync();
        var orders = new Orders { GatedInstance = "n0" };
        await using var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2, o => (o.LeaseDuration, o.ReadBudget) = (lease, TimeSpan.FromMilliseconds(250)), orders.Map);
        var (a, b) = (nodes[0], nodes[1]);

        var hung = PostAsync(a, "/orders", "k-3", "{}");
        await Eventually.TrueAsync(() => orders.Runs.Count == 1, "A's handler started (and hangs)");

        // A held the key past several renewals: B's retries are refused meanwhile.
        await Task.Delay(lease * 2);
        using (var meanwhile = await PostAsync(b, "/orders", "k-3", "{}"))
        {
            Assert.Equal(HttpStatusCode.Conflict, meanwhile.StatusCode);
        }

        // A dies: its host stops (the hung request cut off) and is disposed, so nothing renews or frees its claim.
        await a.StopAsync(TimeSpan.FromMilliseconds(100));
        var died = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var retry = await PostAsync(b, "/orders", "k-3", "{}");
            status = retry.StatusCode;
        }
        while (status == HttpStatusCode.Conflict && died.Elapsed < lease + Slack);
        var ranAfter = died.Elapsed;

        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal(["n0", "n1"], orders.Runs);
        Assert.True(ranAfter < lease + Slack, $"the retry ran {ranAfter} after A died (lease {lease})");

        // Not freed when A stopped: the claim lapsed with the lease A last renewed (at most a third of it before).
        Assert.True(ranAfter > lease / 3, $"the retry ran {ranAfter} after A died, before its lease ({lease}) could lapse");
        orders.Open();
        await Assert.ThrowsAnyAsync<Exception>(() => hung);
    }

    [RedisFact]
    public async Task With_Redis_down_a_required_key_fails_closed_with_503_and_an_optional_one_runs_without_the_guarantee()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        var orders = new Orders();
        await using var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 1, o => o.ReadBudget = TimeSpan.FromMilliseconds(200), orders.Map);
        var a = nodes[0];
        redis.Kill();

        using var required = await PostAsync(a, "/orders/required", "k-4", "{}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, required.StatusCode);
        Assert.Equal("1", Assert.Single(required.Headers.GetValues("Retry-After")));
        Assert.Equal("application/problem+json", required.Content.Headers.ContentType?.MediaType);
        Assert.Empty(orders.Runs);

        using var optional = await PostAsync(a, "/orders", "k-4", "{}");
        Assert.Equal(HttpStatusCode.Created, optional.StatusCode);
        Assert.Equal(["n0"], orders.Runs);
    }

    private static Task<HttpResponseMessage> PostAsync(WebNode node, string path, string key, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        return node.Client.SendAsync(request);
    }

    /// <summary>The order endpoints of every instance, with the runs they made (by instance) and an optional gate.</summary>
    private sealed class Orders
    {
        private TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string> _runs = new();

        public bool Gated { get; init; }

        /// <summary>Only this instance's handler waits at the gate (and never for its client: it hangs until opened).</summary>
        public string? GatedInstance { get; init; }

        public IReadOnlyList<string> Runs => [.. _runs];

        public void Open() => _gate.TrySetResult();

        public void Close() => _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Action<WebApplication> Map(int instance) => app =>
        {
            var name = $"n{instance}";
            async Task<IResult> PlaceAsync(HttpContext context)
            {
                _runs.Enqueue(name);
                if (Gated || GatedInstance == name)
                {
                    await _gate.Task;
                }

                context.Response.Headers["X-Order"] = Guid.NewGuid().ToString();
                return Results.Text($"order by {name} #{_runs.Count}", statusCode: 201, contentType: "text/plain");
            }

            app.MapPost("/orders", (Delegate)PlaceAsync).WithIdempotency();
            app.MapPost("/orders/waiting", (Delegate)PlaceAsync).WithIdempotency(p => p.WaitForDuplicates());
            app.MapPost("/orders/required", (Delegate)PlaceAsync).WithIdempotency(p => p.RequireKey());
        };
    }
}

internal static class StatsExtensions
{
    public static Coalesce.AspNetCore.CoalescingStatsSnapshot GetStats(this IServiceProvider services) =>
        ((Coalesce.AspNetCore.CoalescingStatsRegistry)services.GetService(typeof(Coalesce.AspNetCore.CoalescingStatsRegistry))!).GetSnapshot();
}
