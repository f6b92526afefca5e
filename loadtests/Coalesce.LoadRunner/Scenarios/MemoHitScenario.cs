using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 3. Memoized hit path: a ~0.9 KB JSON answer memoized by Coalesce, under OutputCache, and written as precomputed
/// bytes by an endpoint (the ceiling of a hit that skips the endpoint); then a ~30 KB page memoized and under
/// OutputCache. Each group in alternating rounds against OutputCache. Goals: the memoized hit at least 1.05x
/// OutputCache at both sizes, and at least as fast as the precomputed bytes.
/// </summary>
internal sealed class MemoHitScenario : IScenario
{
    public const double GoalVsOutputCache = 1.05;
    public const double GoalVsPrecomputed = 1.0;

    public static IReadOnlyList<Variant> Small { get; } =
    [
        new("outputcache", "item.outputcache", "/outputcache/item"),
        new("memo", "item.memo", "/memo/item"),
        new("const", "item.const", "/const/item"),
    ];

    public static IReadOnlyList<Variant> Large { get; } =
    [
        new("outputcache-30k", "item30k.outputcache", "/outputcache/item30k"),
        new("memo-30k", "item30k.memo", "/memo/item30k"),
    ];

    public string Name => "memo";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var connections = context.Settings.Connections;
        var small = await context.Measurer.CompareAsync(context.App, Name, "fixed.lua", connections, Small, cancellationToken);
        var large = await context.Measurer.CompareAsync(context.App, Name, "fixed.lua", connections, Large, cancellationToken);
        return new MemoHitResult(context.Mode, small, large, small.Between("memo", "const"));
    }
}

/// <summary>Both groups of the hit path, and the ~1 KB memoized hit against the precomputed bytes round by round.</summary>
internal sealed record MemoHitResult(MeasurementMode Mode, Comparison Small, Comparison Large, RatioSummary? MemoVsPrecomputed)
    : ScenarioResult(Mode);
