namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// A variant against its baseline over alternating rounds: each round's ratio is the two measured in that round, so a
/// change in the machine's load between rounds does not decide it. <see cref="Median"/> is the figure reported;
/// <see cref="HalfWidth95"/> the half width of the 95% interval of the rounds' mean ratio, which says what difference
/// the rounds resolve (twice it); null for a single round.
/// </summary>
internal sealed record RatioSummary(double Median, double Lowest, double Highest, int Rounds, double? HalfWidth95)
{
    public static RatioSummary? Of(IReadOnlyCollection<double> ratios)
    {
        ArgumentNullException.ThrowIfNull(ratios);
        return ratios.Count == 0
            ? null
            : new RatioSummary(Statistics.Median(ratios), ratios.Min(), ratios.Max(), ratios.Count, Statistics.HalfWidth95(ratios));
    }

    /// <summary>Whether the rounds resolve a difference of <paramref name="width"/> (a 95% interval no wider than it).</summary>
    public bool Resolves(double width) => HalfWidth95 is { } half && 2 * half <= width;
}
