using Coalesce.LoadRunner.Measurement;

namespace Coalesce.LoadRunner.Tests;

public class ComparisonTests
{
    private static readonly Variant[] Variants = [new("off", "unique.off", "/off"), new("coalesce", "unique.coalesce", "/coalesce")];

    [Fact]
    public void Each_round_is_compared_with_the_baseline_of_the_same_round()
    {
        // The machine slows down in round 2: both variants drop, their ratio does not.
        MeasuredRun[] runs =
        [
            Runs.Of("off", 1, 40_000), Runs.Of("coalesce", 1, 38_000),
            Runs.Of("coalesce", 2, 19_000), Runs.Of("off", 2, 20_000),
            Runs.Of("off", 3, 30_000), Runs.Of("coalesce", 3, 28_800),
        ];

        var comparison = Comparison.Summarize(Variants, runs, [], 0.02);
        var coalesce = comparison["coalesce"];

        Assert.Equal(3, comparison.Rounds);
        Assert.Equal(0.95, coalesce.VsBaseline!.Median, 9);
        Assert.Equal(0.95, coalesce.VsBaseline.Lowest, 9);
        Assert.Equal(0.96, coalesce.VsBaseline.Highest, 9);
        Assert.Equal(28_800, coalesce.RequestsPerSecond);
        Assert.Null(comparison["off"].VsBaseline);
    }

    [Fact]
    public void Cpu_per_request_is_over_all_rounds_and_compared_round_by_round()
    {
        MeasuredRun[] runs =
        [
            Runs.Of("off", 1, 40_000, cpuSecondsPerSecond: 1.0), Runs.Of("coalesce", 1, 40_000, cpuSecondsPerSecond: 1.1),
            Runs.Of("coalesce", 2, 20_000, cpuSecondsPerSecond: 0.55), Runs.Of("off", 2, 20_000, cpuSecondsPerSecond: 0.5),
        ];

        var comparison = Comparison.Summarize(Variants, runs, [], 0.02);

        Assert.Equal(25.0, comparison["off"].CpuPerRequestUs!.Value, 9);
        Assert.Equal(27.5, comparison["coalesce"].CpuPerRequestUs!.Value, 9);
        Assert.Equal(1.1, comparison["coalesce"].CpuVsBaseline!.Median, 9);
    }

    [Fact]
    public void Rounds_are_added_in_the_one_core_mode_until_the_ratio_is_resolved_or_the_rounds_run_out()
    {
        var noisy = Comparison.Summarize(Variants, [Runs.Of("off", 1, 100), Runs.Of("coalesce", 1, 90), Runs.Of("off", 2, 100), Runs.Of("coalesce", 2, 100)], [], 0.02);
        var steady = Comparison.Summarize(Variants, [Runs.Of("off", 1, 100), Runs.Of("coalesce", 1, 95), Runs.Of("off", 2, 100), Runs.Of("coalesce", 2, 95)], [], 0.02);

        Assert.False(noisy.Resolved);
        Assert.True(Comparison.NeedsAnotherRound(noisy, leastRounds: 2, mostRounds: 5, adaptive: true));
        Assert.False(Comparison.NeedsAnotherRound(noisy, leastRounds: 2, mostRounds: 5, adaptive: false));
        Assert.False(Comparison.NeedsAnotherRound(noisy, leastRounds: 2, mostRounds: 2, adaptive: true));
        Assert.True(steady.Resolved);
        Assert.False(Comparison.NeedsAnotherRound(steady, leastRounds: 2, mostRounds: 5, adaptive: true));
    }

    [Fact]
    public void No_rounds_yet_need_a_first_one()
    {
        var none = Comparison.Summarize(Variants, [], [], 0.02);

        Assert.Equal(0, none.Rounds);
        Assert.False(none.Resolved);
        Assert.True(Comparison.NeedsAnotherRound(none, leastRounds: 1, mostRounds: 1, adaptive: false));
    }

    [Fact]
    public void A_variant_is_compared_with_a_second_reference_round_by_round()
    {
        Variant[] variants = [new("outputcache", "o", "/o"), new("memo", "m", "/m"), new("const", "c", "/c")];
        MeasuredRun[] runs =
        [
            Runs.Of("outputcache", 1, 40_000), Runs.Of("memo", 1, 44_000), Runs.Of("const", 1, 40_000),
            Runs.Of("const", 2, 50_000), Runs.Of("memo", 2, 50_000), Runs.Of("outputcache", 2, 45_000),
        ];

        var comparison = Comparison.Summarize(variants, runs, [], 0.02);

        Assert.Equal(1.05, comparison.Between("memo", "const")!.Median, 9);
    }

    [Theory]
    [InlineData(1, new[] { 0, 1, 2 })]
    [InlineData(2, new[] { 2, 1, 0 })]
    [InlineData(3, new[] { 0, 1, 2 })]
    public void Odd_rounds_go_in_order_and_even_rounds_in_reverse(int round, int[] order) =>
        Assert.Equal(order, RoundOrder.For(round, 3));
}
