using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Coalesce.Testing;

namespace Coalesce.L2Load;

/// <summary>
/// One <c>redis-server</c> of the run's own on a free 127.0.0.1 port, without persistence (the minimum of the Redis
/// tests' <c>RedisServerFixture</c>). Disposing it kills the process and deletes its directory.
/// </summary>
internal sealed class RedisNode : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly string _directory = Directory.CreateTempSubdirectory("coalesce-l2load-").FullName;
    private Process? _process;

    private RedisNode(int port)
    {
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static string ServerPath =>
        DebianPackages.FindOrInstall("redis-server", "redis-server") ?? throw new InvalidOperationException(DebianPackages.HowToInstall("redis-server", "redis-server"));

    public static async Task<RedisNode> StartAsync(params string[] arguments)
    {
        var node = new RedisNode(FreePort());
        try
        {
            await node.StartProcessAsync(arguments);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs one command through a fresh plain connection (INFO, DBSIZE, CLUSTER INFO).</summary>
    public Task<string> CommandAsync(params string[] parts) => RedisServerProcess.CommandAsync(Port, parts);

    public async Task<double> CpuSecondsAsync() => RedisReplies.CpuSeconds(await CommandAsync("INFO", "cpu"));

    public async Task<long> KeyCountAsync() => RedisReplies.Integer(await CommandAsync("DBSIZE"));

    public ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            try
            {
                process.Kill();
                process.WaitForExit(5000);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            process.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        return ValueTask.CompletedTask;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartProcessAsync(string[] arguments) =>
        _process = await RedisServerProcess.StartAsync(ServerPath, Port, _directory, ["--appendonly", "no", .. arguments], StartTimeout);
}

/// <summary>
/// The Redis a round runs on: one node, or three masters joined by <c>redis-cli --cluster create</c> (no replicas),
/// ready once every node reports <c>cluster_state:ok</c>, as the tests' <c>RedisClusterFixture</c> starts it.
/// </summary>
internal sealed class RedisTopology : IAsyncDisposable
{
    private RedisTopology(string name, IReadOnlyList<RedisNode> nodes)
    {
        Name = name;
        Nodes = nodes;
    }

    public string Name { get; }

    public IReadOnlyList<RedisNode> Nodes { get; }

    public string Configuration => string.Join(',', Nodes.Select(static n => n.Configuration));

    public static async Task<RedisTopology> StartSingleAsync() => new("one node", [await RedisNode.StartAsync()]);

    public static async Task<RedisTopology> StartClusterAsync()
    {
        var nodes = new List<RedisNode>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(await RedisNode.StartAsync(
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                    "--cluster-port", RedisNode.FreePort().ToString(CultureInfo.InvariantCulture)));
            }

            await CreateClusterAsync(nodes);
            return new RedisTopology("three masters", nodes);
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }
    }

    private static Task CreateClusterAsync(List<RedisNode> nodes) =>
        RedisServerProcess.CreateClusterAsync(RedisNode.ServerPath, [.. nodes.Select(static n => n.Port)], TimeSpan.FromSeconds(20));
}
