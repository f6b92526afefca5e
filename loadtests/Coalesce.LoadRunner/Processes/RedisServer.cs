using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Coalesce.LoadRunner.Processes;

/// <summary>
/// A <c>redis-server</c> of the run's own on a free loopback port, persistence off (nothing is written to disk); the
/// scale-out scenario's instances share it. Disposing it stops the server.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private RedisServer(ChildProcess process, int port)
    {
        Process = process;
        Port = port;
    }

    public ChildProcess Process { get; }

    public int Port { get; }

    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>Whether <c>redis-server</c> is on the PATH.</summary>
    public static bool IsInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, "redis-server")));

    public static async Task<RedisServer> StartAsync(RunContext run, int? cpu, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        var logPath = Path.Combine(run.WorkFolder, "redis.log");
        for (var attempt = 1; attempt <= 10; attempt++)
        {
            var port = FreePort();
            var process = run.Processes.Start("redis-server", "redis-server",
                ["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                new ChildProcessOptions { LogPath = logPath, Cpu = cpu });
            for (var poll = 0; poll < 40 && !process.HasExited; poll++)
            {
                if (await PingAsync(port, cancellationToken))
                {
                    run.Log($"redis-server ready on 127.0.0.1:{port} (pid {process.Id})");
                    return new RedisServer(process, port);
                }

                await Task.Delay(250, cancellationToken);
            }

            // Another process took the port meanwhile, or the server did not come up: try another.
            await process.DisposeAsync();
        }

        throw new RunnerException($"could not start redis-server on a free loopback port; see {logPath}.");
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<bool> PingAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[64];
            var read = await stream.ReadAsync(buffer, timeout.Token);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}
