using Coalesce.LoadRunner.Measurement;

namespace Coalesce.LoadRunner.Tests;

public class SteadyStateTests
{
    [Fact]
    public void Climbing_throughput_is_not_steady()
    {
        var steady = new SteadyState(0.02);

        Assert.False(steady.Add(20_000));
        Assert.False(steady.Add(30_000));
        Assert.False(steady.Add(38_000));
        Assert.False(steady.Add(40_000));
    }

    [Fact]
    public void Three_windows_in_a_row_within_the_tolerance_are_steady()
    {
        var steady = new SteadyState(0.02);

        steady.Add(30_000);
        steady.Add(40_000);
        steady.Add(40_400);

        Assert.True(steady.Add(40_700));
        Assert.Equal([30_000, 40_000, 40_400, 40_700], steady.Rates);
    }

    [Fact]
    public void The_tolerance_is_between_the_highest_and_the_lowest_of_the_windows()
    {
        var steady = new SteadyState(0.02);

        steady.Add(40_000);
        steady.Add(40_700);

        // 40,900 is within 2% of its neighbour 40,700 but 2.25% above 40,000.
        Assert.False(steady.Add(40_900));
        Assert.True(steady.Add(40_500));
    }

    [Fact]
    public void A_dip_after_steady_windows_makes_it_unsteady_again()
    {
        var steady = new SteadyState(0.02);
        steady.Add(40_000);
        steady.Add(40_100);
        steady.Add(40_200);

        Assert.False(steady.Add(30_000));
        Assert.False(steady.IsSteady);
    }

    [Fact]
    public void Windows_without_requests_are_never_steady()
    {
        var steady = new SteadyState(0.02);

        steady.Add(0);
        steady.Add(0);

        Assert.False(steady.Add(0));
    }
}
