namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// The order variants are measured in within a round: as given in odd rounds, reversed in even ones, so no variant
/// always runs right after another (a variant measured just after a heavier one finds a warmer or busier machine).
/// </summary>
internal static class RoundOrder
{
    /// <summary>The variants' indexes for round <paramref name="round"/> (counted from 1).</summary>
    public static IReadOnlyList<int> For(int round, int variants)
    {
        var order = Enumerable.Range(0, variants);
        return round % 2 == 1 ? [.. order] : [.. order.Reverse()];
    }
}
