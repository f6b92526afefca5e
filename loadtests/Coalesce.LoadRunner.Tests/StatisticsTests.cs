using Coalesce.LoadRunner.Measurement;

namespace Coalesce.LoadRunner.Tests;

public class StatisticsTests
{
    [Theory]
    [InlineData(new double[] { 3, 1, 2 }, 2)]
    [InlineData(new double[] { 4, 1, 3, 2 }, 2.5)]
    [InlineData(new double[] { 7 }, 7)]
    [InlineData(new double[0], 0)]
    public void The_median_is_the_middle_value_or_the_mean_of_the_middle_two(double[] values, double median) =>
        Assert.Equal(median, Statistics.Median(values));

    [Fact]
    public void The_95_percent_half_width_uses_students_t_for_few_rounds()
    {
        // Mean 1.0, sample standard deviation 0.02, five rounds: t(4) = 2.776, so 2.776 * 0.02 / sqrt(5).
        double[] ratios = [0.98, 1.0, 1.02, 0.98, 1.02];
        var expected = 2.776 * Math.Sqrt((4 * 0.0004) / 4.0) / Math.Sqrt(5);

        Assert.Equal(expected, Statistics.HalfWidth95(ratios)!.Value, 9);
    }

    [Fact]
    public void One_round_has_no_interval()
    {
        Assert.Null(Statistics.HalfWidth95([1.0]));
        Assert.Null(Statistics.HalfWidth95([]));
    }

    [Fact]
    public void A_ratio_to_nothing_is_null()
    {
        Assert.Null(Statistics.Ratio(5, 0));
        Assert.Equal(0.5, Statistics.Ratio(5, 10));
    }

    [Fact]
    public void A_ratio_summary_resolves_a_width_when_its_interval_is_no_wider()
    {
        var tight = RatioSummary.Of([0.95, 0.951, 0.949, 0.95, 0.95])!;
        var loose = RatioSummary.Of([0.80, 1.10, 0.95])!;

        Assert.Equal(0.95, tight.Median);
        Assert.Equal(0.949, tight.Lowest);
        Assert.Equal(0.951, tight.Highest);
        Assert.True(tight.Resolves(0.02));
        Assert.False(loose.Resolves(0.02));
        Assert.False(RatioSummary.Of([1.0])!.Resolves(0.02));
        Assert.Null(RatioSummary.Of([]));
    }
}
