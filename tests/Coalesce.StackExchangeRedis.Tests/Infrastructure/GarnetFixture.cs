using System.Diagnostics;
using System.Globalization;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// A Microsoft Garnet server (tests/GarnetHost, Microsoft.Garnet 2.2.12) on a free 127.0.0.1 port, in a process of
/// its own: Garnet's Lua runner needs reflection-based JSON, which this test process turns off. Disposing kills it,
/// also when the test failed.
/// </summary>
internal sealed class GarnetFixture : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;

    private GarnetFixture(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<GarnetFixture> StartAsync()
    {
        var port = RedisServerFixture.FreePort();
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var host = Path.Combine(output.Parent!.Parent!.Parent!.Parent!.FullName, "GarnetHost", "bin", output.Parent.Name, output.Name, "GarnetHost.dll");
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardInput = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(host);
        start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start GarnetHost.");
        var fixture = new GarnetFixture(process, port);
        try
        {
            var ready = await process.StandardOutput.ReadLineAsync().WaitAsync(StartTimeout);
            if (ready != "ready")
            {
                throw new InvalidOperationException($"GarnetHost ({host}) did not start: {ready}");
            }

            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
