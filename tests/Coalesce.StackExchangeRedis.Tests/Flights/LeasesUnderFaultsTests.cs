using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Issue 26, item 4: leases under faults. An instance killed (SIGKILL) while it leads on many keys is taken over by
/// the instances waiting for it within the lease, and nothing stays locked; a holder that stalls past its lease cannot
/// store over a newer result, because the stamps' seq (not the lease) decides what may be stored.
/// </summary>
public sealed class LeasesUnderFaultsTests
{
    private static readonly byte[] Older = [1];
    private static readonly byte[] Newer = [2];

    [RedisFact]
    public async Task An_instance_killed_while_it_leads_on_many_keys_is_taken_over_within_the_lease_and_leaves_no_lock()
    {
        var lease = TimeSpan.FromSeconds(2);
        // A cold process's first Redis calls (JIT, script loads) may run past the 50 ms production read budget and make
        // it run a key alone, which is right in production but not what this test is about.
        string[] settings = ["--Coalesce:RedisOptions:LeaseDuration=" + lease.ToString("c", CultureInfo.InvariantCulture), "--Coalesce:RedisOptions:ReadBudget=00:00:01"];
        await using var redis = await RedisServerFixture.StartAsync();
        // A's catalogue queries take a minute: every key A is asked for, it leads and holds.
        await using var a = await SampleProcess.StartAsync(redis.Configuration, ["--Catalog:LatencyMs=60000", .. settings]);
        await using var b = await SampleProcess.StartAsync(redis.Configuration, settings);
        string[] paths =
        [
            .. Enumerable.Range(1, 8).Select(i => $"/products/{i}"),
            "/products?category=books", "/products?category=games", "/products?category=tools", "/products",
        ];
        var onA = paths.Select(path => a.Client.GetAsync(path)).ToArray();
        var leading = Stopwatch.StartNew();
        while (await CountAsync(redis, "coalesce:{*}:l") != paths.Length && leading.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.True(await CountAsync(redis, "coalesce:{*}:l") == paths.Length, $"A leads every key: {await redis.CommandAsync("KEYS", "*")} {a.Output}");

        var onB = paths.Select(path => b.Client.GetAsync(path)).ToArray();
        var waiting = Stopwatch.StartNew();
        while (await RedisStatAsync(b, "remoteWaits") != paths.Length && waiting.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        Assert.True(await RedisStatAsync(b, "remoteWaits") == paths.Length, $"B waits for A on every key: {await b.Client.GetStringAsync("/_coalesce/stats")} {b.Output}");

        var clock = Stopwatch.StartNew();
        a.Kill();
        var responses = await Task.WhenAll(onB);
        var takeover = clock.Elapsed;

        // B answers every request itself, each key taken over once, within the lease (plus a poll and a query).
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal("The Pragmatic Programmer", JsonDocument.Parse(await responses[0].Content.ReadAsStringAsync()).RootElement.GetProperty("name").GetString());
        Assert.True(takeover < lease + TimeSpan.FromSeconds(1.5), $"B took over {paths.Length} keys {takeover} after A was killed (lease {lease})");
        Assert.Equal(paths.Length, await RedisStatAsync(b, "takeovers"));
        Assert.Equal(paths.Length, await RedisStatAsync(b, "leasesWon"));
        Console.WriteLine($"SIGKILL of an instance leading {paths.Length} keys: all taken over {takeover.TotalMilliseconds:F0} ms after the kill (lease {lease.TotalMilliseconds:F0} ms)");

        // Nothing stays locked: B's leases ended with its executions, and no waiting mark outlives a lease.
        Assert.Equal(0, await CountAsync(redis, "coalesce:{*}:l"));
        await Eventually.TrueAsync(async () => await CountAsync(redis, "coalesce:{*}:w") == 0, "the waiting marks lapsed", seconds: lease.TotalSeconds + 2);
        foreach (var response in responses)
        {
            response.Dispose();
        }

        // A's own clients lost their connection with A.
        foreach (var request in onA)
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => request);
        }
    }

    [RedisTheory]
    [MemberData(nameof(RedisDeployment.Topologies), MemberType = typeof(RedisDeployment))]
    public async Task A_holder_that_stalls_past_its_lease_cannot_store_over_a_newer_result(RedisTopology topology)
    {
        await using var redis = await RedisDeployment.StartAsync(topology);
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 3);
        var (a, b, c) = (nodes[0], nodes[1], nodes[2]);
        var stalled = await Flights(a).LeadOrWaitAsync("k", ["t"], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(DistributedFlightKind.Lead, stalled.Kind);

        // A stalls (a GC pause, a hung call) past its lease: the lease lapses in Redis, as its expiry would.
        Assert.True(await a.Connection.Multiplexer!.GetDatabase().KeyDeleteAsync(a.Connection.Keys.Flight("k").Lease));
        // Meanwhile the data changes: the write's invalidation goes out.
        await c.Invalidation.PublishInvalidationAsync(["t"], CancellationToken.None);

        // B takes the key and stores the newer result.
        var fresh = await Flights(b).LeadOrWaitAsync("k", ["t"], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(DistributedFlightKind.Lead, fresh.Kind);
        Assert.True(fresh.Lease!.StartSeq > stalled.Lease!.StartSeq);
        await fresh.Lease.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Store, () => Newer, TimeSpan.FromMinutes(1)));

        // A wakes and completes with its older result: refused by the seq check (no fencing token needed).
        await stalled.Lease.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Store, () => Older, TimeSpan.FromMinutes(1)));

        Assert.Equal(Newer, (await c.Store.TryGetAsync("k", ["t"], CancellationToken.None))?.Payload);
        Assert.Equal(0, a.Stats.L2Writes);
        Assert.Equal(1, b.Stats.L2Writes);
        Assert.True(a.Logs.Has(3041), "the refused result is logged");
    }

    [RedisFact]
    public async Task Without_a_write_in_between_a_late_holders_result_is_as_fresh_as_the_taker_overs_and_is_kept()
    {
        // Why the seq is enough: a late store lands only when no stamp moved since it started, so it was computed from
        // the same data as the newer one; replacing one with the other changes nothing a client could see.
        await using var redis = await RedisServerFixture.StartAsync();
        await using var nodes = await TestNode.StartSynchronizedAsync(redis.Configuration, 2);
        var (a, b) = (nodes[0], nodes[1]);
        var stalled = await Flights(a).LeadOrWaitAsync("k", ["t"], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.True(await a.Connection.Multiplexer!.GetDatabase().KeyDeleteAsync(a.Connection.Keys.Flight("k").Lease));
        var fresh = await Flights(b).LeadOrWaitAsync("k", ["t"], memoized: true, TimeSpan.FromSeconds(5), CancellationToken.None);
        Assert.Equal(stalled.Lease!.StartSeq, fresh.Lease!.StartSeq);
        await fresh.Lease.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Store, () => Newer, TimeSpan.FromMinutes(1)));

        await stalled.Lease.CompleteAsync(new DistributedCompletion(DistributedCompletionKind.Store, () => Older, TimeSpan.FromMinutes(1)));

        Assert.Equal(Older, (await b.Store.TryGetAsync("k", ["t"], CancellationToken.None))?.Payload);
        Assert.Equal(1, a.Stats.L2Writes);
    }

    private static RedisSingleFlight Flights(TestNode node) => node.Services.GetRequiredService<RedisSingleFlight>();

    private static async Task<int> CountAsync(RedisServerFixture redis, string pattern)
    {
        var reply = await redis.CommandAsync("KEYS", pattern);
        return int.Parse(reply[1..reply.IndexOf('\r', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
    }

    private static async Task<long> RedisStatAsync(SampleProcess sample, string name)
    {
        using var stats = JsonDocument.Parse(await sample.Client.GetStringAsync("/_coalesce/stats"));
        return stats.RootElement.GetProperty("redis").GetProperty(name).GetInt64();
    }
}
