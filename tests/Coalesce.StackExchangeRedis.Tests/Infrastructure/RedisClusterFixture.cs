using System.Globalization;
using Coalesce.Testing;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// A real local Redis Cluster of three masters (no replicas): three <c>redis-server --cluster-enabled yes</c> on free
/// 127.0.0.1 ports, joined by <c>redis-cli --cluster create</c>, ready once every node reports
/// <c>cluster_state:ok</c>. Use with <c>await using</c>: every server is stopped, also when the test fails.
/// </summary>
public sealed class RedisClusterFixture : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private RedisClusterFixture(RedisServerFixture[] masters)
    {
        Masters = masters;
    }

    public IReadOnlyList<RedisServerFixture> Masters { get; }

    /// <summary>A StackExchange.Redis configuration string naming every master (the client discovers the slots).</summary>
    public string Configuration => string.Join(',', Masters.Select(static m => m.Configuration));

    public static async Task<RedisClusterFixture> StartAsync()
    {
        var masters = new RedisServerFixture?[3];
        try
        {
            for (var i = 0; i < masters.Length; i++)
            {
                // The cluster bus on a free port of its own (port + 10000 may be past 65535 for an ephemeral port).
                masters[i] = await RedisServerFixture.StartWithAsync(
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                    "--cluster-port", RedisServerFixture.FreePort().ToString(CultureInfo.InvariantCulture));
            }

            var cluster = new RedisClusterFixture(masters!);
            await cluster.CreateAsync();
            return cluster;
        }
        catch
        {
            await masters.DisposeAllAsync();
            throw;
        }
    }

    /// <summary>How many keys each master holds that match <paramref name="pattern"/> (for the spread over shards).</summary>
    public async Task<int[]> CountKeysAsync(string pattern)
    {
        var counts = new int[Masters.Count];
        for (var i = 0; i < counts.Length; i++)
        {
            // KEYS answers "*N\r\n" then the names.
            var reply = await Masters[i].CommandAsync("KEYS", pattern);
            counts[i] = int.Parse(reply[1..reply.IndexOf('\r', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
        }

        return counts;
    }

    public ValueTask DisposeAsync() => new(Masters.DisposeAllAsync());

    private Task CreateAsync() =>
        RedisServerProcess.CreateClusterAsync(RedisServerInstaller.ServerPath!, [.. Masters.Select(static m => m.Port)], StartTimeout);
}

/// <summary>Where a test's Redis runs: one redis-server, a three-master cluster, or Microsoft Garnet in the test process.</summary>
public enum RedisTopology
{
    SingleNode,
    Cluster,
    Garnet,
}

/// <summary>The Redis a test runs on, of either <see cref="RedisTopology"/>; stopped when disposed.</summary>
public sealed class RedisDeployment : IAsyncDisposable
{
    private readonly IAsyncDisposable _servers;

    private RedisDeployment(IAsyncDisposable servers, string configuration)
    {
        _servers = servers;
        Configuration = configuration;
    }

    /// <summary>Both topologies, as theory rows.</summary>
    public static TheoryData<RedisTopology> Topologies => new() { RedisTopology.SingleNode, RedisTopology.Cluster, RedisTopology.Garnet };

    /// <summary>Redis only, for a test whose Garnet row is not reliable yet (the test says why).</summary>
    public static TheoryData<RedisTopology> RedisTopologies => new() { RedisTopology.SingleNode, RedisTopology.Cluster };

    public string Configuration { get; }

    public static async Task<RedisDeployment> StartAsync(RedisTopology topology) => topology switch
    {
        RedisTopology.Cluster => await StartAsync(await RedisClusterFixture.StartAsync(), static c => c.Configuration),
        RedisTopology.Garnet => await StartAsync(await GarnetFixture.StartAsync(), static g => g.Configuration),
        _ => await StartAsync(await RedisServerFixture.StartAsync(), static s => s.Configuration),
    };

    public ValueTask DisposeAsync() => _servers.DisposeAsync();

    private static Task<RedisDeployment> StartAsync<T>(T servers, Func<T, string> configuration)
        where T : IAsyncDisposable => Task.FromResult(new RedisDeployment(servers, configuration(servers)));
}
