using System.Diagnostics;
using System.Text;

namespace Coalesce.LoadRunner.Processes;

/// <summary>
/// A process the runner started: its standard output and error go to a log file (a server's) or to memory (a tool's
/// whose output is its result), and it is stopped when disposed, first politely (SIGTERM), then not.
/// Start one through <see cref="ChildProcesses"/>, which stops every one still running when the run ends.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private static readonly TimeSpan PoliteStop = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly StreamWriter? _log;
    private readonly StringBuilder _output = new();
    private readonly List<(string Prefix, TaskCompletionSource<string> Line)> _awaitedLines = [];
    private int _disposed;

    private ChildProcess(string name, Process process, string? logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        if (logPath is not null)
        {
            _log = new StreamWriter(logPath, append: false, new UTF8Encoding(false)) { AutoFlush = true };
        }

        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
    }

    public string Name { get; }

    public int Id => _process.Id;

    /// <summary>Where the output goes, or null when it is kept in memory (<see cref="Output"/>).</summary>
    public string? LogPath { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Whether it has been stopped and let go of (its registry forgets it then).</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed) == 1;

    /// <summary>What the process printed so far, when it has no log file.</summary>
    public string Output
    {
        get
        {
            lock (_gate)
            {
                return _output.ToString();
            }
        }
    }

    public static ChildProcess Start(string name, ProcessStartInfo start, string? logPath)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = false;
        var child = new ChildProcess(name, new Process { StartInfo = start }, logPath);
        try
        {
            child._process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            child._log?.Dispose();
            child._process.Dispose();
            throw new RunnerException($"could not start {name} ({start.FileName}): {e.Message}");
        }

        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The first line the process prints that starts with <paramref name="prefix"/>, within the bound.</summary>
    public async Task<string> WaitForLineAsync(string prefix, TimeSpan bound, CancellationToken cancellationToken)
    {
        var line = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            // The line may have come before anyone waited for it.
            if (PrintedSoFar().Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) is { } printed)
            {
                return printed;
            }

            _awaitedLines.Add((prefix, line));
        }

        var exited = _process.WaitForExitAsync(cancellationToken);
        var first = await Task.WhenAny(line.Task, exited, Task.Delay(bound, cancellationToken));
        cancellationToken.ThrowIfCancellationRequested();
        if (first == line.Task)
        {
            return await line.Task;
        }

        throw new RunnerException(first == exited
            ? $"{Name} exited before printing '{prefix}' (exit code {_process.ExitCode}); see {LogPath ?? "its output"}."
            : $"{Name} did not print '{prefix}' within {bound.TotalSeconds:0} s; see {LogPath ?? "its output"}.");
    }

    /// <summary>
    /// Waits for the process to end on its own within <paramref name="bound"/>, and returns its exit code; past the
    /// bound it is stopped and <see cref="RunnerException"/> thrown.
    /// </summary>
    public async Task<int> WaitForExitAsync(TimeSpan bound, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(bound);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await StopAsync();
            throw new RunnerException($"{Name} did not finish within {bound.TotalSeconds:0} s and was stopped.");
        }

        return _process.ExitCode;
    }

    /// <summary>Stops the process if it still runs: SIGTERM, then a kill of its whole tree after 10 s.</summary>
    public async Task StopAsync()
    {
        if (Volatile.Read(ref _disposed) == 1 || HasExited)
        {
            return;
        }

        try
        {
            using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
                RedirectStandardError = true,
            });
            if (term is not null)
            {
                await term.WaitForExitAsync();
            }

            using var polite = new CancellationTokenSource(PoliteStop);
            await _process.WaitForExitAsync(polite.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Kill();
        }
    }

    /// <summary>Kills the process and its children at once (the last resort, also when the runner is exiting).</summary>
    public void Kill()
    {
        try
        {
            if (Volatile.Read(ref _disposed) == 0 && !_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended meanwhile.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        lock (_gate)
        {
            _log?.Dispose();
        }

        _process.Dispose();
    }

    /// <summary>Everything printed so far (from the log file when there is one); called under the lock.</summary>
    private string PrintedSoFar()
    {
        if (LogPath is null)
        {
            return _output.ToString();
        }

        using var log = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(log);
        return reader.ReadToEnd();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            if (_log is not null)
            {
                _log.WriteLine(line);
            }
            else
            {
                _output.Append(line).Append('\n');
            }

            for (var i = _awaitedLines.Count - 1; i >= 0; i--)
            {
                if (line.StartsWith(_awaitedLines[i].Prefix, StringComparison.Ordinal))
                {
                    _awaitedLines[i].Line.TrySetResult(line);
                    _awaitedLines.RemoveAt(i);
                }
            }
        }
    }
}
