using System.Diagnostics;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>The cross-instance single-flight protocol itself, through the seam the middleware calls (no HTTP).</summary>
public sealed class RedisSingleFlightTests
{
    private static readonly byte[] Payload = [1, 2, 3];

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_lease_is_renewed_while_its_execution_runs_so_a_waiter_is_not_tempted_to_take_over(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        var lease = TimeSpan.FromMilliseconds(500);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2, o => (o.LeaseDuration, o.ReadBudget) = (lease, TimeSpan.FromMilliseconds(250)));
        var (a, b) = (Flights(nodes[0]), Flights(nodes[1]));
        var led = await a.LeadOrWaitAsync("k", [], memoized: false, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(DistributedFlightKind.Lead, led.Kind);

        // Three lease lifetimes: without renewal B would have taken over after the first.
        var clock = Stopwatch.StartNew();
        var waited = await b.LeadOrWaitAsync("k", [], memoized: false, 3 * lease, CancellationToken.None);

        Assert.Equal(DistributedFlightKind.RunHere, waited.Kind);
        Assert.True(clock.Elapsed >= 3 * lease, $"B stopped waiting after {clock.Elapsed} (a Redis call over its budget: {nodes[1].Logs.Has(3002)})");
        Assert.Equal(0, nodes[1].Stats.Takeovers);
        Assert.Equal(1, nodes[1].Stats.RemoteWaits);
        Assert.True(nodes[1].Logs.Has(3043), "the timed-out wait is logged");

        await led.Lease!.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Fill, () => Payload));
        Assert.Equal(1, nodes[0].Stats.FillsPublished);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_result_whose_tag_was_invalidated_after_the_lease_was_won_is_neither_stored_nor_handed_over(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        foreach (var kind in new[] { DistributedCompletionKind.Store, DistributedCompletionKind.Fill })
        {
            var key = "k-" + kind;
            var led = await Flights(a).LeadOrWaitAsync(key, ["t"], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None);
            Assert.Equal(DistributedFlightKind.Lead, led.Kind);
            var waiter = Flights(b).LeadOrWaitAsync(key, ["t"], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
            await Eventually.TrueAsync(() => b.Stats.RemoteWaits == (kind == DistributedCompletionKind.Store ? 1 : 2), "B waits for A");

            // The write reaches Redis (C publishes it) before A completes; A never heard of it (the seam alone checks).
            await c.Invalidation.PublishInvalidationAsync(["t"], CancellationToken.None);
            await led.Lease!.CompleteAsync(new DistributedCompletion(kind, () => Payload, TimeSpan.FromMinutes(1)));

            // Released instead: the waiter leads, on fresh data.
            var next = await waiter;
            Assert.Equal(DistributedFlightKind.Lead, next.Kind);
            await next.Lease!.CompleteAsync(DistributedCompletion.Release);
            Assert.Null(await a.Store.TryGetAsync(key, ["t"], CancellationToken.None));
        }

        Assert.Equal(0, a.Stats.FillsPublished);
        Assert.Equal(0, a.Stats.L2Writes);
        Assert.Equal(2, b.Stats.Takeovers);
        Assert.True(a.Logs.Has(3041), "the refused result is logged");
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_result_too_large_for_Redis_sends_the_waiters_to_run_their_own_without_marking_the_key(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        // No marker is left, so only the notice tells the waiter (a poll racing it would find the lease free and lead).
        await using var nodes = await TestNode.StartSynchronizedAsync(
            redis.Configuration, 2, o => (o.MaxEntryBytes, o.RemoteWaitPollInterval, o.RemoteWaitMaxPollInterval) = (1024, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)));
        var (a, b) = (nodes[0], nodes[1]);
        await Eventually.TrueAsync(() => Flights(b).IsSubscribed, "B subscribed to notices");
        var led = await Flights(a).LeadOrWaitAsync("big", [], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None);
        var waiter = Flights(b).LeadOrWaitAsync("big", [], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => b.Stats.RemoteWaits == 1, "B waits for A");

        await led.Lease!.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Store, () => new byte[2048], TimeSpan.FromMinutes(1)));

        var told = await waiter;
        Assert.Equal(DistributedFlightKind.Pass, told.Kind);
        Assert.Equal(TimeSpan.Zero, told.PassThrough);
        Assert.Equal(1, a.Stats.L2Oversize);

        // Nothing marks the key: the next miss may lead again.
        var next = await Flights(b).LeadOrWaitAsync("big", [], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(DistributedFlightKind.Lead, next.Kind);
        await next.Lease!.CompleteAsync(DistributedCompletion.Release);
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_lease_completes_once_and_an_instance_of_the_holder_waits_for_itself_like_any_other(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 1);
        // A newer local flight (its older one was detached by an invalidation) waits for this instance's own lease.
        var flights = Flights(nodes[0]);
        await Eventually.TrueAsync(() => flights.IsSubscribed, "subscribed to notices");
        var led = await flights.LeadOrWaitAsync("self", [], memoized: false, TimeSpan.FromSeconds(5), CancellationToken.None);
        var waiter = flights.LeadOrWaitAsync("self", [], memoized: false, TimeSpan.FromSeconds(5), CancellationToken.None).AsTask();
        await Eventually.TrueAsync(() => nodes[0].Stats.RemoteWaits == 1, "the second flight waits");

        await led.Lease!.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Fill, () => Payload));
        await led.Lease!.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Pass, Duration: TimeSpan.FromMinutes(1)));

        var filled = await waiter;
        Assert.Equal(DistributedFlightKind.Filled, filled.Kind);
        Assert.Equal(Payload, filled.Payload);
        Assert.Equal(1, nodes[0].Stats.FillsPublished);
        Assert.Equal(0, nodes[0].Stats.Passes);
    }

    private static RedisSingleFlight Flights(TestNode node) => node.Services.GetRequiredService<RedisSingleFlight>();
}
