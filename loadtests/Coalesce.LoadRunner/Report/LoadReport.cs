using System.Text.Json;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Scenarios;

namespace Coalesce.LoadRunner.Report;

/// <summary>
/// Everything a run produced: its settings and the command that reproduces it, the machine, every scenario's result
/// in every mode (in the order of the report), the scenarios skipped, and the app's <c>/_coalesce/stats</c> per mode.
/// </summary>
internal sealed record LoadReport(
    RunSettings Settings,
    MachineInfo Machine,
    IReadOnlyList<ScenarioResult> Results,
    IReadOnlyDictionary<string, JsonElement> CoalesceStats)
{
    public string Generator { get; } = "loadtests/Coalesce.LoadRunner";

    public string Reproduce => Settings.CommandLine;

    /// <summary>The results of one scenario, in the order of the modes.</summary>
    public IEnumerable<T> Of<T>()
        where T : ScenarioResult => Results.OfType<T>();
}
