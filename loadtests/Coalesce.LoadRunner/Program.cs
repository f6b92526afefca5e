using System.Runtime.InteropServices;
using Coalesce.LoadRunner;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;
using Coalesce.LoadRunner.Report;

// Runs Coalesce's HTTP load scenarios with wrk against loadtests/Coalesce.LoadTestApp and writes report.md and
// report.json; see loadtests/README.md. Every process it starts is stopped when it ends, also on failure or Ctrl-C.
RunSettings settings;
RepositoryLayout layout;
try
{
    layout = RepositoryLayout.Find();
    var reader = new SettingsReader(args, Environment.GetEnvironmentVariable);
    if (reader.Flag("help"))
    {
        Console.WriteLine(RunSettings.Usage);
        return 0;
    }

    settings = RunSettings.Read(reader, layout.DefaultResults);
}
catch (RunnerException e)
{
    await Console.Error.WriteLineAsync($"loadrunner: {e.Message}");
    return 2;
}

using var interrupted = new CancellationTokenSource();
void Interrupt(PosixSignalContext signal)
{
    // Unwind instead of dying, so every process started is stopped on the way out.
    signal.Cancel = true;
    interrupted.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

var work = Directory.CreateTempSubdirectory("coalesce-loadrunner-");
var processes = new ChildProcesses();
AppDomain.CurrentDomain.ProcessExit += (_, _) => processes.KillAll();
try
{
    await using (processes)
    {
        var run = new RunContext(settings, layout, processes, work.FullName, Console.Error);
        var report = await new LoadRun(run).RunAsync(interrupted.Token);

        var markdownPath = Path.Combine(settings.ResultsFolder, "report.md");
        var kept = MarkdownReport.KeptPart(File.Exists(markdownPath) ? await File.ReadAllTextAsync(markdownPath) : null);
        var markdown = MarkdownReport.Write(report, kept);
        await File.WriteAllTextAsync(markdownPath, markdown);
        await File.WriteAllTextAsync(Path.Combine(settings.ResultsFolder, "report.json"), JsonReport.Write(report));
        run.Log($"Wrote {markdownPath} and report.json");
        Console.Write(markdown);
        return 0;
    }
}
catch (RunnerException e)
{
    await Console.Error.WriteLineAsync($"loadrunner: {e.Message}");
    return 1;
}
catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("loadrunner: interrupted; every process it started has been stopped.");
    return 130;
}
finally
{
    work.Delete(recursive: true);
}
