using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 1. Stampede: every connection asks for one key whose handler takes 100 ms, without the middleware, through
/// coalescing, and under OutputCache (an entry kept 1 ms with its locking on, so both show request collapsing rather
/// than caching): handler executions per second, latency.
/// </summary>
internal sealed class StampedeScenario : IScenario
{
    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("off", "stampede.off", "/off/stampede"),
        new("coalesce", "stampede.coalesce", "/coalesce/stampede"),
        new("outputcache", "stampede.outputcache", "/outputcache/stampede"),
    ];

    public string Name => "stampede";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var runs = new List<MeasuredRun>();
        var warmUps = new List<WarmUp>();
        foreach (var variant in Variants)
        {
            var (run, warmUp) = await context.Measurer.MeasureAsync(
                context.App, Name, variant, "fixed.lua", context.Settings.StampedeConnections, cancellationToken);
            runs.Add(run);
            warmUps.Add(warmUp);
        }

        return new StampedeResult(context.Mode, runs, warmUps);
    }
}

/// <summary>The stampede's three runs; the first (<c>off</c>) is the baseline of executions.</summary>
internal sealed record StampedeResult(MeasurementMode Mode, IReadOnlyList<MeasuredRun> Runs, IReadOnlyList<WarmUp> WarmUps) : ScenarioResult(Mode);
