using System.Text.Json;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;
using Coalesce.LoadRunner.Report;
using Coalesce.LoadRunner.Scenarios;

namespace Coalesce.LoadRunner;

/// <summary>
/// A whole run: checks the tools, builds the app, then for each mode starts the app (pinned in the one-core mode), runs
/// the scenarios that use it, reads its stats, runs the memory scenario (which fills and clears its caches), stops it,
/// and runs the scale-out scenario with instances of its own.
/// </summary>
internal sealed class LoadRun(RunContext run)
{
    private static readonly TimeSpan BuildBound = TimeSpan.FromMinutes(10);

    // In the order they run on the shared app: memory last, after the stats are read, since it floods the caches.
    private static readonly IScenario[] OnSharedApp =
        [new StampedeScenario(), new OverheadScenario(), new MemoHitScenario(), new ZipfScenario(), new ScaleScenario(), new OutageScenario(), new StreamingScenario()];

    private static readonly MemoryScenario Memory = new();
    private static readonly ScaleOutScenario ScaleOut = new();

    public async Task<LoadReport> RunAsync(CancellationToken cancellationToken)
    {
        var settings = run.Settings;
        CheckTools();
        var skipScaleOut = settings.Runs(ScaleOut.Name) && !RedisServer.IsInstalled();
        if (skipScaleOut && settings.ScenariosGiven)
        {
            throw new RunnerException("the scaleout scenario needs redis-server (Debian/Ubuntu: apt-get install -y redis-server); loadtests/run.sh installs it when it runs as root.");
        }

        var machine = await MachineInfo.ReadAsync(run.Layout.Root);
        if (settings.Build)
        {
            await BuildAppAsync(cancellationToken);
        }

        Directory.CreateDirectory(run.RawFolder);
        var results = new List<(string Scenario, ScenarioResult Result)>();
        var stats = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var mode in settings.Modes)
        {
            run.Log($"Mode {mode.Name}: {mode.Description}; scenarios: {string.Join(' ', settings.Scenarios)}");
            if (OnSharedApp.Any(s => settings.Runs(s.Name)) || settings.Runs(Memory.Name))
            {
                var app = await LoadTestApp.StartAsync(run, $"{mode.Name}-app", [], mode.AppCpu, cancellationToken);
                await using (app)
                {
                    var context = new ScenarioContext(run, mode, app);
                    foreach (var scenario in OnSharedApp.Where(s => settings.Runs(s.Name)))
                    {
                        results.Add((scenario.Name, await scenario.RunAsync(context, cancellationToken)));
                    }

                    stats[mode.Name] = await app.ReadStatsAsync(cancellationToken);
                    if (settings.Runs(Memory.Name))
                    {
                        results.Add((Memory.Name, await Memory.RunAsync(context, cancellationToken)));
                    }
                }

                File.Copy(app.LogPath, run.RawPath(mode, "app.log"), overwrite: true);
            }

            if (skipScaleOut)
            {
                run.Log("Skipping the scaleout scenario: redis-server is not installed.");
                results.Add((ScaleOut.Name, new SkippedResult(mode, ScaleOut.Name,
                    "redis-server is not installed (Debian/Ubuntu package `redis-server`; loadtests/run.sh installs it when it runs as root)")));
            }
            else if (settings.Runs(ScaleOut.Name))
            {
                results.Add((ScaleOut.Name, await ScaleOut.RunAsync(new ScenarioContext(run, mode, app: null), cancellationToken)));
            }
        }

        // The report's order: by scenario, then by mode (the order they ran in within a scenario).
        var reportOrder = RunSettings.AllScenarios.ToList();
        var ordered = results
            .OrderBy(r => reportOrder.IndexOf(r.Scenario))
            .Select(r => r.Result)
            .ToList();
        return new LoadReport(settings, machine, ordered, stats);
    }

    private void CheckTools()
    {
        if (!OnPath("wrk"))
        {
            throw new RunnerException("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk); loadtests/run.sh installs it when it runs as root.");
        }

        if (run.Settings.Modes.FirstOrDefault(m => m.IsOneCore) is { } oneCore)
        {
            if (!OnPath("taskset"))
            {
                throw new RunnerException("the one-core mode pins processes with taskset (Debian/Ubuntu package util-linux), which is not installed.");
            }

            var highest = Math.Max(oneCore.AppCpu!.Value, oneCore.LoadCpu!.Value);
            if (highest >= Environment.ProcessorCount)
            {
                throw new RunnerException($"the one-core mode needs CPUs {oneCore.AppCpu} and {oneCore.LoadCpu}; this machine has {Environment.ProcessorCount} (0 to {Environment.ProcessorCount - 1}).");
            }
        }
    }

    private async Task BuildAppAsync(CancellationToken cancellationToken)
    {
        run.Log("Building the load-test app (Release)");
        var logPath = Path.Combine(run.WorkFolder, "build.log");
        var build = run.Processes.Start("dotnet build", "dotnet", ["build", run.Layout.AppProject, "-c", "Release", "-nologo", "-v", "quiet"],
            new ChildProcessOptions { LogPath = logPath });
        await using (build)
        {
            if (await build.WaitForExitAsync(BuildBound, cancellationToken) != 0)
            {
                await Console.Error.WriteLineAsync(await File.ReadAllTextAsync(logPath, CancellationToken.None));
                throw new RunnerException("the Release build of Coalesce.LoadTestApp failed.");
            }
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(folder => File.Exists(Path.Combine(folder, tool)));
}
