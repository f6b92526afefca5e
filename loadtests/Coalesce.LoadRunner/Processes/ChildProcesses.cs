using System.Diagnostics;
using System.Globalization;

namespace Coalesce.LoadRunner.Processes;

/// <summary>
/// Starts the run's processes and stops every one still running when disposed, so an app, a Redis or a wrk never
/// outlives the run, whether it ends normally, fails or is interrupted. <see cref="KillAll"/> is the synchronous
/// last resort for a runner that is exiting anyway.
/// </summary>
internal sealed class ChildProcesses : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<ChildProcess> _started = [];

    /// <summary>
    /// Starts <paramref name="fileName"/>, pinned to <paramref name="cpu"/> with <c>taskset</c> when one is given
    /// (taskset runs the program in its own process, so the id is the program's).
    /// </summary>
    public ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, ChildProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var start = options.Cpu is { } cpu
            ? new ProcessStartInfo("taskset", ["-c", cpu.ToString(CultureInfo.InvariantCulture), fileName, .. arguments])
            : new ProcessStartInfo(fileName, arguments);
        if (options.WorkingDirectory is not null)
        {
            start.WorkingDirectory = options.WorkingDirectory;
        }

        foreach (var (key, value) in options.Environment)
        {
            start.Environment[key] = value;
        }

        var child = ChildProcess.Start(name, start, options.LogPath);
        lock (_gate)
        {
            // A one-core warm-up starts hundreds of short wrk runs: keep only those not yet let go of.
            _started.RemoveAll(c => c.IsDisposed);
            _started.Add(child);
        }

        return child;
    }

    public void KillAll()
    {
        foreach (var child in Snapshot())
        {
            child.Kill();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Load generators and clients first, servers after: a wrk stopped after its app would count errors.
        foreach (var child in Snapshot().Reverse())
        {
            await child.DisposeAsync();
        }
    }

    private ChildProcess[] Snapshot()
    {
        lock (_gate)
        {
            return [.. _started];
        }
    }
}

/// <summary>How to start a child process: its log file (else its output is kept in memory), CPU, folder and environment.</summary>
internal sealed record ChildProcessOptions
{
    public string? LogPath { get; init; }

    public int? Cpu { get; init; }

    public string? WorkingDirectory { get; init; }

    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
}
