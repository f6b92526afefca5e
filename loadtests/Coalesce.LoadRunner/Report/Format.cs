using System.Globalization;
using Coalesce.LoadRunner.Measurement;

namespace Coalesce.LoadRunner.Report;

/// <summary>How the report writes its figures: invariant culture, a fixed number of decimals per kind of figure.</summary>
internal static class Format
{
    public static string Whole(double value) => value.ToString("0", CultureInfo.InvariantCulture);

    public static string Thousands(double value) => value.ToString("#,0", CultureInfo.InvariantCulture);

    public static string Ms(double microseconds) => (microseconds / 1000).ToString("0.00", CultureInfo.InvariantCulture);

    public static string OneDecimal(double? value) => value is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "n/a";

    public static string Percent(double? fraction) => fraction is { } f ? (100 * f).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";

    public static string Percent(double part, double whole) => Percent(Statistics.Ratio(part, whole));

    public static string Ratio(double? value) => value is { } v ? v.ToString("0.000", CultureInfo.InvariantCulture) : "n/a";

    public static string Times(double? value) => value is { } v ? v.ToString("0.00", CultureInfo.InvariantCulture) + "x" : "n/a";

    public static string MiB(double bytes) => (bytes / 1048576).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    /// <summary>A ratio over rounds: the median, then the lowest and highest and the 95% interval's half width.</summary>
    public static string RatioOverRounds(RatioSummary? ratio, Func<double?, string> figure)
    {
        ArgumentNullException.ThrowIfNull(figure);
        if (ratio is null)
        {
            return "n/a";
        }

        var spread = ratio.HalfWidth95 is { } half ? $", ±{(100 * half).ToString("0.0", CultureInfo.InvariantCulture)}%" : "";
        return $"{figure(ratio.Median)} ({figure(ratio.Lowest)}–{figure(ratio.Highest)}{spread})";
    }
}
