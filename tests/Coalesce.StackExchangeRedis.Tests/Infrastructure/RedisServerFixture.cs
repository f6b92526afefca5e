using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Coalesce.Testing;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// One <c>redis-server</c> of a test's own, on a free 127.0.0.1 port, without persistence (or with append-only
/// persistence, for restart tests). <see cref="Kill"/> sends SIGKILL, <see cref="Pause"/>/<see cref="Resume"/> send
/// SIGSTOP/SIGCONT, <see cref="RestartAsync"/> starts it again on the same port. Use with <c>await using</c>, so the
/// server is stopped (and its directory deleted) also when the test fails.
/// </summary>
public sealed class RedisServerFixture : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    private readonly string _directory;
    private readonly bool _appendOnly;
    private readonly string[] _arguments;
    private Process? _process;
    private bool _paused;

    private RedisServerFixture(int port, bool appendOnly, params string[] arguments)
    {
        Port = port;
        _appendOnly = appendOnly;
        _arguments = arguments;
        _directory = Directory.CreateTempSubdirectory("coalesce-redis-").FullName;
    }

    public int Port { get; }

    /// <summary>A StackExchange.Redis configuration string for this server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server on a free port; throws (failing the test) when there is no redis-server.</summary>
    public static async Task<RedisServerFixture> StartAsync(bool appendOnly = false)
    {
        var server = new RedisServerFixture(FreePort(), appendOnly);
        try
        {
            await server.StartProcessAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a server on a free port with more arguments (a cluster node's, say).</summary>
    internal static async Task<RedisServerFixture> StartWithAsync(params string[] arguments)
    {
        var server = new RedisServerFixture(FreePort(), appendOnly: false, arguments);
        try
        {
            await server.StartProcessAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>A fixture for a port where nothing listens yet; <see cref="RestartAsync"/> starts the server there.</summary>
    public static RedisServerFixture NotStarted(bool appendOnly = false) => new(FreePort(), appendOnly);

    /// <summary>SIGKILL: the server dies at once, as in a crash.</summary>
    public void Kill()
    {
        if (_process is { } process)
        {
            process.Kill();
            process.WaitForExit(5000);
            process.Dispose();
            _process = null;
            _paused = false;
        }
    }

    /// <summary>SIGSTOP: the server keeps its sockets open but answers nothing.</summary>
    public void Pause()
    {
        Signal("STOP");
        _paused = true;
    }

    /// <summary>SIGCONT after <see cref="Pause"/>.</summary>
    public void Resume()
    {
        Signal("CONT");
        _paused = false;
    }

    /// <summary>Kills the server if it runs, then starts it again on the same port (with its data when append-only).</summary>
    public async Task RestartAsync()
    {
        Kill();
        await StartProcessAsync();
    }

    /// <summary>Runs one command through a fresh plain connection (for test set-up and inspection).</summary>
    public Task<string> CommandAsync(params string[] parts) => RedisServerProcess.CommandAsync(Port, parts);

    public async ValueTask DisposeAsync()
    {
        if (_paused)
        {
            Resume();
        }

        Kill();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }

        await Task.CompletedTask;
    }

    private async Task StartProcessAsync()
    {
        var path = RedisServerInstaller.ServerPath ?? throw new InvalidOperationException(RedisServerInstaller.MissingMessage);
        string[] persistence = ["--appendonly", _appendOnly ? "yes" : "no", "--appendfsync", "always"];
        _process = await RedisServerProcess.StartAsync(path, Port, _directory, persistence.Concat(_arguments), StartTimeout);
    }

    private void Signal(string signal)
    {
        if (_process is not { } process)
        {
            return;
        }

        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {process.Id}") { UseShellExecute = false })!;
        kill.WaitForExit(5000);
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {process.Id} failed with exit code {kill.ExitCode}.");
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
