using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Coalesce.Testing;

/// <summary>
/// Starting a <c>redis-server</c> of one's own on 127.0.0.1, talking to it, and joining several into a cluster: shared by
/// the Redis tests' fixtures and the L2 load tool, which start Redis the same way.
/// </summary>
internal static class RedisServerProcess
{
    /// <summary>
    /// Starts <paramref name="serverPath"/> on <paramref name="port"/> in <paramref name="directory"/>, without saving
    /// snapshots or a log file, with <paramref name="arguments"/> added, and waits until it answers <c>PING</c>. A server
    /// that exits or does not answer within <paramref name="startTimeout"/> is killed and the start fails.
    /// </summary>
    public static async Task<Process> StartAsync(string serverPath, int port, string directory, IEnumerable<string> arguments, TimeSpan startTimeout)
    {
        var start = new ProcessStartInfo(serverPath)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = directory,
        };
        foreach (var argument in new[]
        {
            "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "",
            "--dir", directory, "--daemonize", "no", "--logfile", "", "--loglevel", "warning",
        }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if ((await CommandAsync(port, "PING")).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return process;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
            }

            if (process.HasExited || clock.Elapsed > startTimeout)
            {
                process.Kill();
                process.WaitForExit(5000);
                process.Dispose();
                throw new InvalidOperationException($"redis-server on port {port} did not answer PING within {startTimeout}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Sends one command to the server on <paramref name="port"/> and returns its raw reply (RESP).</summary>
    public static async Task<string> CommandAsync(int port, params string[] parts)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(5));
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

    /// <summary>
    /// Joins the servers on <paramref name="ports"/> (started with <c>--cluster-enabled yes</c>) into one cluster of
    /// masters with <c>redis-cli --cluster create</c>, and waits until each reports <c>cluster_state:ok</c>.
    /// </summary>
    public static async Task CreateClusterAsync(string serverPath, IReadOnlyList<int> ports, TimeSpan timeout)
    {
        var cli = Path.Combine(Path.GetDirectoryName(serverPath)!, "redis-cli");
        var start = new ProcessStartInfo(cli) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("--cluster");
        start.ArgumentList.Add("create");
        foreach (var port in ports)
        {
            start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{port}"));
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
        foreach (var port in ports)
        {
            while (!(await CommandAsync(port, "CLUSTER", "INFO")).Contains("cluster_state:ok", StringComparison.Ordinal))
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
