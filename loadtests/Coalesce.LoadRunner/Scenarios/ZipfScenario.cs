using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 4. Zipf keys: ids 1–10,000 drawn from a seeded Zipf distribution (<c>lua/zipf.lua</c>) on a 20 ms handler, without
/// coalescing, with it, and memoized too: backend executions and the hit rate.
/// </summary>
internal sealed class ZipfScenario : IScenario
{
    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("off", "zipf.off", "/off/zipf"),
        new("coalesce", "zipf.coalesce", "/coalesce/zipf"),
        new("memo", "zipf.memo", "/memo/zipf"),
    ];

    public string Name => "zipf";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var runs = new List<MeasuredRun>();
        foreach (var variant in Variants)
        {
            var (run, _) = await context.Measurer.MeasureAsync(
                context.App, Name, variant, "zipf.lua", context.Settings.ZipfConnections, cancellationToken);
            runs.Add(run);
        }

        return new ZipfResult(context.Mode, runs);
    }
}

/// <summary>The three Zipf runs; <c>memo</c> was warmed up like the others, so its figures are a warm cache's.</summary>
internal sealed record ZipfResult(MeasurementMode Mode, IReadOnlyList<MeasuredRun> Runs) : ScenarioResult(Mode);
