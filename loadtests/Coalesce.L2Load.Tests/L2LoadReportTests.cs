namespace Coalesce.L2Load.Tests;

public sealed class L2LoadReportTests
{
    private static RoundResult Round(string topology, int round, long hits, long stored, long gets = -1, long sets = -1, params double[] cpu) =>
        new(topology, round, TimeSpan.FromSeconds(10), gets < 0 ? hits : gets, hits, sets < 0 ? stored : sets, stored, cpu.Length == 0 ? [1.0] : cpu, 7.5);

    [Fact]
    public void Operations_per_second_count_hits_and_stores_only()
    {
        var round = Round(L2LoadReport.One, 1, hits: 9_000, stored: 900, gets: 9_500, sets: 1_000);

        Assert.Equal(990, round.OperationsPerSecond);
        Assert.Equal(600, round.Failed);
    }

    [Fact]
    public void Redis_cpu_per_operation_is_per_node_in_microseconds()
    {
        var round = Round(L2LoadReport.Three, 1, hits: 90_000, stored: 10_000, gets: -1, sets: -1, 1.0, 3.0, 0.5);

        Assert.Equal([10.0, 30.0, 5.0], round.RedisMicrosecondsPerOperation);
    }

    [Theory]
    [InlineData(new[] { 3.0 }, 3.0)]
    [InlineData(new[] { 5.0, 1.0, 3.0 }, 3.0)]
    [InlineData(new[] { 4.0, 1.0, 2.0, 3.0 }, 2.5)]
    public void Median_is_the_middle_value_or_the_mean_of_the_two_middle_ones(double[] values, double median)
    {
        Assert.Equal(median, L2LoadReport.Median(values));
    }

    [Fact]
    public void Median_of_nothing_is_refused()
    {
        Assert.Throws<ArgumentException>(() => L2LoadReport.Median([]));
    }

    [Fact]
    public void Ratio_is_the_median_on_three_masters_over_the_median_on_one_node()
    {
        RoundResult[] rounds =
        [
            Round(L2LoadReport.One, 1, 100_000, 0), Round(L2LoadReport.Three, 1, 150_000, 0),
            Round(L2LoadReport.One, 2, 200_000, 0), Round(L2LoadReport.Three, 2, 100_000, 0),
            Round(L2LoadReport.One, 3, 300_000, 0), Round(L2LoadReport.Three, 3, 500_000, 0),
        ];

        Assert.Equal(20_000, L2LoadReport.MedianOf(rounds, L2LoadReport.One));
        Assert.Equal(15_000, L2LoadReport.MedianOf(rounds, L2LoadReport.Three));
        Assert.Equal(0.75, L2LoadReport.Ratio(rounds));
    }

    [Fact]
    public void The_markdown_has_the_command_a_row_per_round_the_ratio_and_the_keys_per_master()
    {
        RoundResult[] rounds =
        [
            Round(L2LoadReport.One, 1, 90_000, 10_000, -1, -1, 5.0),
            Round(L2LoadReport.Three, 1, 180_000, 20_000, -1, -1, 1.0, 2.0, 1.0),
        ];

        var markdown = L2LoadReport.Markdown(L2LoadSettings.Default, rounds, [20_003], [3_371, 13_262, 3_370]);

        Assert.Contains("`dotnet run -c Release --project loadtests/Coalesce.L2Load -- --workers 64 --keys 10000", markdown, StringComparison.Ordinal);
        Assert.Contains("| one node | 1 | 10,000 | 90,000 | 10,000 | 0 | 0.50 | 50.0 | 0.75 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| three masters | 1 | 20,000 | 180,000 | 20,000 | 0 | 0.10 / 0.20 / 0.10 | 5.0 / 10.0 / 5.0 | 0.75 |", markdown, StringComparison.Ordinal);
        Assert.Contains("ratio three/one 2.00.", markdown, StringComparison.Ordinal);
        Assert.Contains("one node 20,003; three masters 3,371 / 13,262 / 3,370.", markdown, StringComparison.Ordinal);
    }
}
