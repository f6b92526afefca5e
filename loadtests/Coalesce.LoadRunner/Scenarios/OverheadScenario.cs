using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 2. Overhead: a new id on every request (<c>lua/unique.lua</c>) to a trivial handler, so nothing can be shared:
/// what the middleware costs a request it cannot help, as requests per second and app CPU per request against the
/// pipeline without it, in alternating rounds. Goal: at least 97% of the baseline.
/// </summary>
internal sealed class OverheadScenario : IScenario
{
    public const double Goal = 0.97;

    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("off", "unique.off", "/off/unique"),
        new("coalesce", "unique.coalesce", "/coalesce/unique"),
    ];

    public string Name => "overhead";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var comparison = await context.Measurer.CompareAsync(
            context.App, Name, "unique.lua", context.Settings.Connections, Variants, cancellationToken);
        return new OverheadResult(context.Mode, comparison, Goal);
    }
}

/// <summary>The overhead comparison: <c>coalesce</c> against <c>off</c>, and the goal for its ratio.</summary>
internal sealed record OverheadResult(MeasurementMode Mode, Comparison Comparison, double Goal) : ScenarioResult(Mode)
{
    public bool GoalMet => Comparison["coalesce"].VsBaseline is { } ratio && ratio.Median >= Goal;
}
