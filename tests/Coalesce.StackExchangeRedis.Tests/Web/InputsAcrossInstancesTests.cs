using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// The inputs rule across instances: a response another instance computed (handed over when its lease settles, or
/// stored in the second level) answers a request only when the inputs it was computed from outside the key are equal.
/// </summary>
public sealed class InputsAcrossInstancesTests
{
    [RedisTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_instance_waiting_on_another_does_not_take_its_answer_for_another_tenant(bool memoized)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2, endpoints: _ => app =>
            app.MapGet("/report", async (HttpContext context) =>
                {
                    Interlocked.Increment(ref executions);
                    var tenant = context.Request.Headers["X-Tenant"].ToString();
                    await gate.Task;
                    return Results.Text("report for " + tenant);
                })
                .WithCoalescing(p =>
                {
                    if (memoized)
                    {
                        p.Memoize(TimeSpan.FromMinutes(1));
                    }
                }));
        var (a, b) = (nodes[0], nodes[1]);

        var onA = a.Client.SendAsync(Request("acme"));
        await Eventually.TrueAsync(() => Volatile.Read(ref executions) == 1, "A runs the report for acme");
        var onB = b.Client.SendAsync(Request("globex"));
        await Eventually.TrueAsync(() => b.Stats.RemoteWaits >= 1, "B waits for A's execution of the same key");
        gate.SetResult();

        Assert.Equal("report for acme", await (await onA).Content.ReadAsStringAsync());
        Assert.Equal("report for globex", await (await onB).Content.ReadAsStringAsync());
        Assert.Equal(2, Volatile.Read(ref executions));

        // Each instance now keys the tenant: the same tenant on the other instance gets its own answer.
        Assert.Equal("report for acme", await (await b.Client.SendAsync(Request("acme"))).Content.ReadAsStringAsync());
        Assert.Equal("report for globex", await (await a.Client.SendAsync(Request("globex"))).Content.ReadAsStringAsync());
    }

    [RedisFact]
    public async Task Instances_share_one_execution_when_the_tenant_is_the_same()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await WebNode.StartSynchronizedAsync(redis.Configuration, new Catalog(), 2, endpoints: _ => app =>
            app.MapGet("/report", async (HttpContext context) =>
            {
                Interlocked.Increment(ref executions);
                var tenant = context.Request.Headers["X-Tenant"].ToString();
                await gate.Task;
                return Results.Text("report for " + tenant);
            }).WithCoalescing());
        var (a, b) = (nodes[0], nodes[1]);

        var onA = a.Client.SendAsync(Request("acme"));
        await Eventually.TrueAsync(() => Volatile.Read(ref executions) == 1, "A runs the report for acme");
        var onB = b.Client.SendAsync(Request("acme"));
        await Eventually.TrueAsync(() => b.Stats.RemoteWaits >= 1, "B waits for A's execution of the same key");
        gate.SetResult();

        Assert.Equal("report for acme", await (await onA).Content.ReadAsStringAsync());
        Assert.Equal("report for acme", await (await onB).Content.ReadAsStringAsync());
        Assert.Equal(1, Volatile.Read(ref executions));
    }

    private static HttpRequestMessage Request(string tenant)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/report");
        request.Headers.Add("X-Tenant", tenant);
        return request;
    }
}
