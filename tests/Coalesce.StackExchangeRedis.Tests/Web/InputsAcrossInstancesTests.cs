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
        await using var redis = await RedisServerFixture.StartAsync();
        var run = await TwoInstancesAsync(redis.Configuration, "acme", "globex", memoized);
        await using var nodes = run.Nodes;

        Assert.Equal(("report for acme", "report for globex"), (run.OnA, run.OnB));
        Assert.Equal(2, run.Executions);

        // Each instance now keys the tenant: the same tenant on the other instance gets its own answer.
        Assert.Equal("report for acme", await ReadAsync(nodes[1], "acme"));
        Assert.Equal("report for globex", await ReadAsync(nodes[0], "globex"));
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task Instances_share_one_execution_when_the_tenant_is_the_same(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var run = await TwoInstancesAsync(redis.Configuration, "acme", "acme", memoized: false);
        await using var nodes = run.Nodes;

        Assert.Equal(("report for acme", "report for acme"), (run.OnA, run.OnB));
        Assert.Equal(1, run.Executions);
    }

    /// <summary>
    /// A's request for <paramref name="tenantOnA"/> runs (held); B's for <paramref name="tenantOnB"/> waits on A's lease
    /// for the same key; then A's execution is let go. The caller disposes the nodes.
    /// </summary>
    private static async Task<(Nodes<WebNode> Nodes, string OnA, string OnB, int Executions)> TwoInstancesAsync(
        string redis, string tenantOnA, string tenantOnB, bool memoized)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var nodes = await WebNode.StartSynchronizedAsync(redis, new Catalog(), 2, endpoints: _ => app =>
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
        try
        {
            var (a, b) = (nodes[0], nodes[1]);
            var onA = ReadAsync(a, tenantOnA);
            await Eventually.TrueAsync(() => Volatile.Read(ref executions) == 1, "A runs the report");
            var onB = ReadAsync(b, tenantOnB);
            await Eventually.TrueAsync(() => b.Stats.RemoteWaits >= 1, "B waits for A's execution of the same key");
            gate.SetResult();
            return (nodes, await onA, await onB, Volatile.Read(ref executions));
        }
        catch
        {
            gate.TrySetResult();
            await nodes.DisposeAsync();
            throw;
        }
    }

    private static async Task<string> ReadAsync(WebNode node, string tenant)
    {
        using var response = await node.Client.SendAsync(Request(tenant));
        return await response.Content.ReadAsStringAsync();
    }

    private static HttpRequestMessage Request(string tenant)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/report");
        request.Headers.Add("X-Tenant", tenant);
        return request;
    }
}
