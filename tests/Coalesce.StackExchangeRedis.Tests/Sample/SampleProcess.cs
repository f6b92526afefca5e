using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// The sample API (samples/WebApi) as a process of its own on a free 127.0.0.1 port, started as a user would
/// (<c>dotnet WebApi.dll --urls … --Coalesce:Redis=…</c>), with a client that sends one <c>Host</c> as a load
/// balancer would. Disposing kills it (and anything it started), also when the test failed.
/// </summary>
internal sealed class SampleProcess : IAsyncDisposable
{
    public const string Host = "shop.local";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SampleProcess(Process process, int port)
    {
        _process = process;
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
            Timeout = TimeSpan.FromSeconds(10),
        };
        Client.DefaultRequestHeaders.Host = Host;
    }

    public HttpClient Client { get; }

    /// <summary>What the process wrote so far (for a failing test's message).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public int Id => _process.Id;

    public static async Task<SampleProcess> StartAsync(string redis, params string[] settings)
    {
        var port = RedisServerFixture.FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = SampleDirectory,
        };
        foreach (var argument in new[]
        {
            Path.Combine(SampleDirectory, "WebApi.dll"), "--urls", $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
            "--Coalesce:Redis=" + redis, "--Telemetry:Console=false", "--Catalog:LatencyMs=20", "--Logging:LogLevel:Default=Warning",
        }.Concat(settings))
        {
            start.ArgumentList.Add(argument);
        }

        var sample = new SampleProcess(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."), port);
        sample._process.OutputDataReceived += (_, e) => sample.Append(e.Data);
        sample._process.ErrorDataReceived += (_, e) => sample.Append(e.Data);
        sample._process.BeginOutputReadLine();
        sample._process.BeginErrorReadLine();
        try
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                try
                {
                    // Ready once it follows the other instances (before that it runs requests alone, without leases).
                    using var health = await sample.Client.GetAsync("/healthz");
                    if (health.IsSuccessStatusCode && await health.Content.ReadAsStringAsync() == "Healthy")
                    {
                        return sample;
                    }
                }
                catch (HttpRequestException)
                {
                }

                if (sample._process.HasExited || clock.Elapsed > StartTimeout)
                {
                    throw new InvalidOperationException($"The sample was not healthy (GET /healthz) within {StartTimeout}: {sample.Output}");
                }

                await Task.Delay(100);
            }
        }
        catch
        {
            await sample.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL, as a crashed or OOM-killed instance: nothing runs on its way out.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Client.Dispose();
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>The sample's build output, beside this test assembly's configuration (Debug or Release).</summary>
    private static string SampleDirectory
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = output.Parent!.Name;
            var root = output;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Coalesce.sln")))
            {
                root = root.Parent;
            }

            return Path.Combine(
                root?.FullName ?? throw new InvalidOperationException("No Coalesce.sln above the test output."),
                "samples", "WebApi", "bin", configuration, output.Name);
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
