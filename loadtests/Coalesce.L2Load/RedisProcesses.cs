using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
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
    public async Task<string> CommandAsync(params string[] parts)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Port).WaitAsync(TimeSpan.FromSeconds(5));
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(parts.Length).Append("\r\n");
        foreach (var part in parts)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        var buffer = new byte[64 * 1024];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

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

    private async Task StartProcessAsync(string[] arguments)
    {
        var start = new ProcessStartInfo(ServerPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _directory,
        };
        foreach (var argument in new[]
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", _directory, "--daemonize", "no", "--logfile", "", "--loglevel", "warning",
        }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await CommandAsync("PING")).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or TimeoutException)
            {
            }

            if (process.HasExited || clock.Elapsed > StartTimeout)
            {
                throw new InvalidOperationException($"redis-server on port {Port} did not answer PING within {StartTimeout}.");
            }

            await Task.Delay(20);
        }
    }
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

    private static async Task CreateClusterAsync(List<RedisNode> nodes)
    {
        var timeout = TimeSpan.FromSeconds(20);
        var cli = Path.Combine(Path.GetDirectoryName(RedisNode.ServerPath)!, "redis-cli");
        var start = new ProcessStartInfo(cli) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--cluster");
        start.ArgumentList.Add("create");
        foreach (var node in nodes)
        {
            start.ArgumentList.Add(node.Configuration);
        }

        start.ArgumentList.Add("--cluster-replicas");
        start.ArgumentList.Add("0");
        start.ArgumentList.Add("--cluster-yes");
        using (var create = Process.Start(start) ?? throw new InvalidOperationException("redis-cli did not start."))
        {
            var output = create.StandardOutput.ReadToEndAsync();
            var errors = create.StandardError.ReadToEndAsync();
            await create.WaitForExitAsync().WaitAsync(timeout);
            if (create.ExitCode != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed ({create.ExitCode}): {await output}{await errors}");
            }
        }

        var clock = Stopwatch.StartNew();
        foreach (var node in nodes)
        {
            while (!(await node.CommandAsync("CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                if (clock.Elapsed > timeout)
                {
                    throw new InvalidOperationException($"The cluster did not report cluster_state:ok within {timeout}.");
                }

                await Task.Delay(50);
            }
        }
    }
}
