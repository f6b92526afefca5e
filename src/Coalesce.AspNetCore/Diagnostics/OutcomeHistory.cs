namespace Coalesce.AspNetCore;

/// <summary>
/// One endpoint's totals as they were at each of the last <see cref="Capacity"/> ticks of the registry's clock (one a
/// second): a rate over the last minute is what was counted since the tick a minute ago, over the time since it.
/// Written and read only under the registry's tick lock, never on the request path.
/// </summary>
internal sealed class OutcomeHistory
{
    /// <summary>A minute of one-second ticks, and the one that starts it.</summary>
    public const int Capacity = 61;

    private readonly long[] _ticks = new long[Capacity];
    private readonly OutcomeTotals[] _totals = new OutcomeTotals[Capacity];

    public OutcomeHistory() => Clear();

    public void Record(long tick, OutcomeTotals totals)
    {
        var slot = (int)(tick % Capacity);
        _ticks[slot] = tick;
        _totals[slot] = totals;
    }

    /// <summary>
    /// The totals at <paramref name="tick"/>; zero when none was recorded then (the endpoint saw its first request
    /// after it, or the figures were reset).
    /// </summary>
    public OutcomeTotals At(long tick)
    {
        var slot = (int)(tick % Capacity);
        return _ticks[slot] == tick ? _totals[slot] : default;
    }

    public void Clear() => Array.Fill(_ticks, -1);
}
