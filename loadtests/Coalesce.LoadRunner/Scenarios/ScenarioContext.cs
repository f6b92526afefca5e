using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>What a scenario runs with: the run, the mode, a measurer for that mode, and the shared app when it is up.</summary>
internal sealed class ScenarioContext(RunContext run, MeasurementMode mode, LoadTestApp? app)
{
    public RunContext Run { get; } = run;

    public RunSettings Settings => Run.Settings;

    public MeasurementMode Mode { get; } = mode;

    public Measurer Measurer { get; } = new(run, mode);

    /// <summary>The app every scenario but scale-out runs against.</summary>
    public LoadTestApp App => app ?? throw new InvalidOperationException("This scenario runs without the shared app.");
}
