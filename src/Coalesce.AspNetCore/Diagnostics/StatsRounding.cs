namespace Coalesce.AspNetCore;

/// <summary>How every fractional figure of the stats is shown: to four decimals, so a rate reads <c>0.0004</c>, never <c>3.9993601023836184e-05</c>.</summary>
internal static class StatsRounding
{
    public static double Round(double value) => Math.Round(value, 4, MidpointRounding.AwayFromZero);

    /// <summary><paramref name="hits"/> over <paramref name="hits"/> plus <paramref name="misses"/>, rounded; 0 when both are 0.</summary>
    public static double Rate(double hits, double misses) => hits + misses <= 0 ? 0d : Round(hits / (hits + misses));
}
