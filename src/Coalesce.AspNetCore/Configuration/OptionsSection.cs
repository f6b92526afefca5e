using Microsoft.Extensions.Configuration;

namespace Coalesce.AspNetCore;

/// <summary>
/// One options type's configuration section, read the way every Coalesce binder reads it: keys named as the
/// properties, a value that does not parse fails naming its path and the option, lists replace defaults, and a key the
/// options do not have fails the same way instead of being ignored (<see cref="RejectUnknownKeys"/>). Each binder then
/// reads as one line per property: <c>options.X = section.Bool(nameof(options.X), options.X);</c>.
/// </summary>
internal sealed class OptionsSection
{
    private readonly IConfiguration _section;
    private readonly string _options;
    private readonly HashSet<string> _read = new(StringComparer.OrdinalIgnoreCase);

    /// <param name="section">The section to read.</param>
    /// <param name="options">What the section configures, as messages name it (<c>RequestCoalescingOptions</c>).</param>
    public OptionsSection(IConfiguration section, string options)
    {
        ArgumentNullException.ThrowIfNull(section);
        _section = section;
        _options = options;
    }

    public IConfiguration Configuration => _section;

    public bool Bool(string key, bool current) => ConfigurationReader.ReadBool(_section, Read(key), current, Name(key));

    public int Int(string key, int current) => ConfigurationReader.ReadInt(_section, Read(key), current, Name(key));

    public long Long(string key, long current) => ConfigurationReader.ReadLong(_section, Read(key), current, Name(key));

    public double Double(string key, double current) => ConfigurationReader.ReadDouble(_section, Read(key), current, Name(key));

    public TimeSpan Time(string key, TimeSpan current) => ConfigurationReader.ReadTimeSpan(_section, Read(key), current, Name(key));

    /// <summary>A time that may be switched off: an empty value (or <c>null</c>) means none.</summary>
    public TimeSpan? OptionalTime(string key, TimeSpan? current) =>
        ConfigurationReader.ReadOptionalTimeSpan(_section, Read(key), current, Name(key));

    public TEnum Enum<TEnum>(string key, TEnum current)
        where TEnum : struct, System.Enum =>
        ConfigurationReader.ReadEnum(_section, Read(key), current, Name(key));

    /// <summary>A text value as configured, or <paramref name="current"/> when the key is absent.</summary>
    public string? Text(string key, string? current) => _section[Read(key)] ?? current;

    /// <summary>Replaces <paramref name="target"/> with the list configured under <paramref name="key"/>, when one is.</summary>
    public void List(string key, ICollection<string> target) => ConfigurationReader.ReplaceList(_section, Read(key), target, static v => v);

    /// <inheritdoc cref="List(string, ICollection{string})"/>
    public void List<T>(string key, ICollection<T> target, Func<string, T> convert) =>
        ConfigurationReader.ReplaceList(_section, Read(key), target, convert);

    /// <summary>The child section under <paramref name="key"/>, marked as known.</summary>
    public IConfigurationSection Child(string key) => _section.GetSection(Read(key));

    /// <summary>The message name of a property: <c>RequestCoalescingOptions.WaitTimeout</c>.</summary>
    public string Name(string key) => $"{_options}.{key}";

    /// <summary>
    /// Fails when the section holds a key that was not read and is not one of <paramref name="otherSections"/> (keys
    /// that other registrations read, such as <c>Redis</c> under <c>Coalesce</c>): a misspelt option
    /// (<c>Coalesce:MemoMaxByte</c>) would otherwise be ignored in silence.
    /// </summary>
    public void RejectUnknownKeys(params ReadOnlySpan<string> otherSections)
    {
        foreach (var child in _section.GetChildren())
        {
            if (_read.Contains(child.Key) || Contains(otherSections, child.Key))
            {
                continue;
            }

            var known = _read.Order(StringComparer.Ordinal).ToList();
            var suggestion = Closest(child.Key, known) is { } near ? $" Did you mean '{near}'?" : "";
            throw new InvalidOperationException(
                $"Configuration key '{ConfigurationReader.PathOf(_section, child.Key)}' is not a setting of {_options}.{suggestion} " +
                $"Its settings are {string.Join(", ", known)}{(otherSections.Length > 0 ? $"; beside them the section may hold {string.Join(", ", otherSections.ToArray())}" : "")}.");
        }
    }

    private string Read(string key)
    {
        _read.Add(key);
        return key;
    }

    private static bool Contains(ReadOnlySpan<string> keys, string key)
    {
        foreach (var candidate in keys)
        {
            if (string.Equals(candidate, key, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The known key nearest to a misspelt one (at most two edits, or one a prefix of the other), if any.</summary>
    private static string? Closest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = candidate.StartsWith(key, StringComparison.OrdinalIgnoreCase) || key.StartsWith(candidate, StringComparison.OrdinalIgnoreCase)
                ? 1
                : Distance(key.ToUpperInvariant(), candidate.ToUpperInvariant());
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= 2 ? best : null;
    }

    /// <summary>Levenshtein distance, two rows.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
