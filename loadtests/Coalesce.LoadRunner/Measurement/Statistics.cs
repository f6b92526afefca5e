namespace Coalesce.LoadRunner.Measurement;

/// <summary>The few statistics the report needs: medians of rounds and how far a series of ratios can be trusted.</summary>
internal static class Statistics
{
    // Student's t at 97.5% for 1 to 30 degrees of freedom; past 30 the normal 1.96 is close enough.
    private static readonly double[] TwoSidedT95 =
    [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
        2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
        2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];

    /// <summary>The median; the mean of the middle two for an even count. Zero for none.</summary>
    public static double Median(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>
    /// The <paramref name="percentile"/>th percentile by nearest rank (the smallest value with at least that share of
    /// the values at or below it): the 95th of 20 values is the 19th smallest, of 64 the 61st. Zero for none.
    /// </summary>
    public static double Percentile(IEnumerable<double> values, double percentile)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(percentile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percentile, 100);
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(percentile * sorted.Length / 100);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }

    /// <summary>
    /// Half the width of the 95% confidence interval of the mean of <paramref name="values"/> (Student's t): a series
    /// of per-round ratios resolves a difference of twice this. Null for fewer than two values.
    /// </summary>
    public static double? HalfWidth95(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var n = values.Count;
        if (n < 2)
        {
            return null;
        }

        var mean = values.Average();
        var variance = values.Sum(v => (v - mean) * (v - mean)) / (n - 1);
        var t = n - 1 <= TwoSidedT95.Length ? TwoSidedT95[n - 2] : 1.96;
        return t * Math.Sqrt(variance / n);
    }

    /// <summary><paramref name="value"/> over <paramref name="baseline"/>, or null when the baseline is not positive.</summary>
    public static double? Ratio(double value, double baseline) => baseline > 0 ? value / baseline : null;
}
