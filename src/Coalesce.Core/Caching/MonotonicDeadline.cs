namespace Coalesce;

/// <summary>Deadlines on <see cref="TimeProvider.GetTimestamp"/>'s monotonic clock, saturating instead of overflowing.</summary>
internal static class MonotonicDeadline
{
    /// <summary>The latest deadline there is: a span too long to add to a timestamp ends here.</summary>
    public const long Latest = long.MaxValue - 1;

    /// <summary>The timestamp <paramref name="span"/> after <paramref name="now"/>, at most <see cref="Latest"/>.</summary>
    public static long After(long now, TimeSpan span, long frequency)
    {
        var ticks = frequency == TimeSpan.TicksPerSecond
            ? span.Ticks
            : (long)Math.Min(span.Ticks * (double)frequency / TimeSpan.TicksPerSecond, long.MaxValue / 2);
        return ticks >= Latest - now ? Latest : now + ticks;
    }

    /// <summary><paramref name="a"/> + <paramref name="b"/> for non-negative spans, <see cref="TimeSpan.MaxValue"/> when that overflows.</summary>
    public static TimeSpan Add(TimeSpan a, TimeSpan b) => b > TimeSpan.MaxValue - a ? TimeSpan.MaxValue : a + b;
}
