using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Issue 26: a replica promoted (<c>REPLICAOF NO ONE</c>) after writes that never reached it hands out the same seqs
/// again. An instance that applied the lost seqs must notice on catch-up that Redis's history is not the one it
/// followed, and flush.
/// </summary>
public sealed class FailoverTests
{
    [RedisFact]
    public async Task An_instance_that_applied_writes_lost_in_a_failover_flushes_when_the_promoted_replica_reuses_their_seqs()
    {
        await using var replica = await RedisServerFixture.StartAsync();
        var primary = await RedisServerFixture.StartAsync();
        await using var cluster = await StartReplicatedAsync(primary, replica);
        var (a, b, c) = (cluster.Nodes[0], cluster.Nodes[1], cluster.Nodes[2]);

        // Seq 1 reaches the replica.
        (await b.Client.PutAsync("/products/5", null)).Dispose();
        await Eventually.TrueAsync(async () => await SeqAsync(replica) == 1, "the replica has seq 1");

        // Replication stops; seq 2 (product 1) is applied by C but never reaches the replica.
        await replica.CommandAsync("REPLICAOF", "127.0.0.1", UnusedPort().ToString(CultureInfo.InvariantCulture));
        using (var lost = await a.Client.PutAsync("/products/1", null))
        {
            Assert.Equal(HttpStatusCode.OK, lost.StatusCode);
        }

        Assert.Equal(2, c.Bus.CurrentSeq);
        Assert.Equal("product 2 v1", await FaultCluster.ReadAsync(c, "/products/2"));

        // Failover: C is cut off meanwhile; A and B move to the promoted replica.
        var (openedA, openedB) = (a.Stats.BreakerOpenings, b.Stats.BreakerOpenings);
        cluster.Proxies[2].RefuseNew = true;
        cluster.Proxies[2].ResetAll();
        Assert.StartsWith("+OK", await replica.CommandAsync("REPLICAOF", "NO", "ONE"), StringComparison.Ordinal);
        primary.Kill();
        foreach (var i in new[] { 0, 1 })
        {
            cluster.Proxies[i].Retarget(replica.Port);
            cluster.Proxies[i].ResetAll();
        }

        await Eventually.TrueAsync(
            () => a.Stats.BreakerOpenings > openedA && b.Stats.BreakerOpenings > openedB && a.Bus.IsSynchronized && b.Bus.IsSynchronized,
            "A and B lost the old primary and synchronized on the promoted replica");

        // The promoted replica hands out seq 2 again, for a write of product 2.
        using (var write = await b.Client.PutAsync("/products/2", null))
        {
            Assert.Equal(HttpStatusCode.OK, write.StatusCode);
        }

        Assert.Equal(2, await SeqAsync(replica));

        // C comes back to the promoted replica: same epoch (replicated), same seq as it applied; its product 2 is old.
        cluster.Proxies[2].Retarget(replica.Port);
        cluster.Proxies[2].RefuseNew = false;
        await Eventually.TrueAsync(() => c.Bus.IsSynchronized, "C synchronized on the promoted replica", seconds: 8);
        Assert.Equal("product 2 v2", await FaultCluster.ReadAsync(c, "/products/2"));
    }

    private static async Task<FaultCluster> StartReplicatedAsync(RedisServerFixture primary, RedisServerFixture replica)
    {
        try
        {
            // The primary would otherwise wait 5 s before the first full sync.
            await primary.CommandAsync("CONFIG", "SET", "repl-diskless-sync-delay", "0");
            await replica.CommandAsync("REPLICAOF", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture));
            await Eventually.TrueAsync(
                async () => (await replica.CommandAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal),
                "the replica follows the primary");
        }
        catch
        {
            await primary.DisposeAsync();
            throw;
        }

        return await FaultCluster.StartAsync(redis: primary);
    }

    private static async Task<long> SeqAsync(RedisServerFixture server)
    {
        var reply = await server.CommandAsync("GET", "{coalesce}:seq");
        var lines = reply.Split("\r\n");
        return lines[0] == "$-1" ? 0 : long.Parse(lines[1], CultureInfo.InvariantCulture);
    }

    private static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
