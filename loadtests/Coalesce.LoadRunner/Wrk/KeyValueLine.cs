using System.Globalization;

namespace Coalesce.LoadRunner.Wrk;

/// <summary>
/// The one machine-readable line a tool prints among its other output, as <c>TAG key=value key=value ...</c>:
/// <c>WRK_RESULT</c> from <c>lua/report.lua</c>, <c>LOCKSTEP</c> from <c>lua/lockstep.lua</c>, <c>PROBE_RESULT</c>
/// from the app's invalidation probe.
/// </summary>
internal sealed class KeyValueLine
{
    private readonly Dictionary<string, string> _values;

    private KeyValueLine(string tag, Dictionary<string, string> values)
    {
        Tag = tag;
        _values = values;
    }

    public string Tag { get; }

    /// <summary>The first line of <paramref name="output"/> that starts with <paramref name="tag"/>, or null.</summary>
    public static KeyValueLine? Find(string output, string tag)
    {
        ArgumentNullException.ThrowIfNull(output);
        foreach (var line in output.Split('\n'))
        {
            var fields = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 0 || !string.Equals(fields[0], tag, StringComparison.Ordinal))
            {
                continue;
            }

            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var field in fields.AsSpan(1))
            {
                var equals = field.IndexOf('=', StringComparison.Ordinal);
                if (equals > 0)
                {
                    values[field[..equals]] = field[(equals + 1)..];
                }
            }

            return new KeyValueLine(tag, values);
        }

        return null;
    }

    public long Long(string key) =>
        long.TryParse(Text(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"{Tag}: '{key}' is not a whole number ('{Text(key)}').");

    public double Double(string key) =>
        double.TryParse(Text(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"{Tag}: '{key}' is not a number ('{Text(key)}').");

    private string Text(string key) =>
        _values.TryGetValue(key, out var text) ? text : throw new FormatException($"{Tag} has no '{key}'.");
}
