using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;

namespace Coalesce.LoadRunner;

/// <summary>
/// What every part of a run shares: the settings, the repository's layout, the processes started (all stopped when
/// the run ends), a work folder for logs, the raw-output folder, and where progress is told (standard error).
/// </summary>
internal sealed class RunContext(RunSettings settings, RepositoryLayout layout, ChildProcesses processes, string workFolder, TextWriter progress)
{
    public RunSettings Settings { get; } = settings;

    public RepositoryLayout Layout { get; } = layout;

    public ChildProcesses Processes { get; } = processes;

    /// <summary>The run's own temporary folder (logs of the processes it starts).</summary>
    public string WorkFolder { get; } = workFolder;

    /// <summary>Raw wrk output, logs and counts, for a closer look (<c>results/raw/</c>, not committed).</summary>
    public string RawFolder => Path.Combine(Settings.ResultsFolder, "raw");

    public string RawPath(MeasurementMode mode, string name)
    {
        ArgumentNullException.ThrowIfNull(mode);
        return Path.Combine(RawFolder, $"{mode.Name}.{name}");
    }

    public void Log(string message) => progress.WriteLine($"==> {message}");
}
