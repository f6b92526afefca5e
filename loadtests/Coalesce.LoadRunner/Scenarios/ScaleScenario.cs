using System.Globalization;
using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 5. Scale: the stampede through coalescing at each of <c>--scale-connections</c>: the handler should run about once
/// per 100 ms flight however many wait, with no errors, each follower costing the same CPU.
/// </summary>
internal sealed class ScaleScenario : IScenario
{
    public string Name => "scale";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var runs = new List<MeasuredRun>();
        foreach (var connections in context.Settings.ScaleConnections)
        {
            var variant = new Variant(string.Create(CultureInfo.InvariantCulture, $"coalesce-{connections}"), "stampede.coalesce", "/coalesce/stampede");
            var (run, _) = await context.Measurer.MeasureAsync(context.App, Name, variant, "fixed.lua", connections, cancellationToken);
            runs.Add(run);
        }

        return new ScaleResult(context.Mode, runs);
    }
}

/// <summary>One run per connection count.</summary>
internal sealed record ScaleResult(MeasurementMode Mode, IReadOnlyList<MeasuredRun> Runs) : ScenarioResult(Mode);
