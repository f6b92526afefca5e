using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Coalesce.AspNetCore;

/// <summary>
/// Reads option values from a configuration section by hand, so binding is AOT-safe (no reflection) and a
/// configured list replaces a default list instead of being appended to it, as the reflection binder would.
/// A value that does not parse fails with a message naming its configuration path and the option.
/// </summary>
internal static class ConfigurationReader
{
    private delegate bool TryParse<T>(string text, out T value);

    public static bool ReadBool(IConfiguration section, string key, bool current, string option) =>
        Read(section, key, current, option, static (string t, out bool v) => bool.TryParse(t, out v));

    public static int ReadInt(IConfiguration section, string key, int current, string option) =>
        Read(section, key, current, option, static (string t, out int v) => int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out v));

    public static long ReadLong(IConfiguration section, string key, long current, string option) =>
        Read(section, key, current, option, static (string t, out long v) => long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out v));

    public static double ReadDouble(IConfiguration section, string key, double current, string option) =>
        Read(section, key, current, option, static (string t, out double v) => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out v));

    public static TimeSpan ReadTimeSpan(IConfiguration section, string key, TimeSpan current, string option) =>
        Read(section, key, current, option, ParseTimeSpan);

    /// <summary>Reads a time that may be switched off: an empty value (or <c>null</c>) means none.</summary>
    public static TimeSpan? ReadOptionalTimeSpan(IConfiguration section, string key, TimeSpan? current, string option)
    {
        var text = section[key];
        if (text is null)
        {
            return section.GetSection(key).GetChildren().Any() ? throw NotAValue(section, key, option) : current;
        }

        if (text.Length == 0 || text.Equals("null", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return ParseTimeSpan(text, out var value) ? value : throw Invalid(section, key, text, typeof(TimeSpan), option);
    }

    public static TEnum ReadEnum<TEnum>(IConfiguration section, string key, TEnum current, string option)
        where TEnum : struct, Enum =>
        Read(section, key, current, option, static (string t, out TEnum v) => Enum.TryParse(t, ignoreCase: true, out v) && Enum.IsDefined(v));

    /// <summary>
    /// The list configured under <paramref name="key"/> (<c>Key:0</c>, <c>Key:1</c>, … as JSON arrays bind), or
    /// <see langword="null"/> when the key is absent. An empty value (<c>"Key": []</c> or <c>""</c>) is an empty list, so a
    /// default can be cleared as well as narrowed.
    /// </summary>
    public static List<string>? ReadList(IConfiguration section, string key)
    {
        var child = section.GetSection(key);
        var children = child.GetChildren().ToList();
        if (children.Count == 0)
        {
            return child.Value switch
            {
                null => null,
                "" => [],
                var single => [single],
            };
        }

        // Array items come in key order as text ("10" before "2"), so sort numeric keys as numbers.
        return [.. children
            .OrderBy(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : int.MaxValue)
            .ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => c.Value ?? string.Empty)];
    }

    /// <summary>Replaces the contents of <paramref name="target"/> with the configured list, when one is configured.</summary>
    public static void ReplaceList<T>(IConfiguration section, string key, ICollection<T> target, Func<string, T> convert)
    {
        if (ReadList(section, key) is not { } values)
        {
            return;
        }

        target.Clear();
        foreach (var value in values)
        {
            target.Add(convert(value));
        }
    }

    /// <summary>The configuration path of <paramref name="key"/> in <paramref name="section"/>, for messages.</summary>
    public static string PathOf(IConfiguration section, string key) =>
        section is IConfigurationSection named && named.Path.Length > 0 ? named.Path + ":" + key : key;

    public static InvalidOperationException Invalid(IConfiguration section, string key, string text, Type type, string option) =>
        new($"Configuration value '{PathOf(section, key)}' = '{text}' is not a valid {type.Name} for {option}.");

    private static InvalidOperationException NotAValue(IConfiguration section, string key, string option) =>
        new($"Configuration key '{PathOf(section, key)}' is a section, but {option} takes a single value.");

    private static bool ParseTimeSpan(string text, out TimeSpan value)
    {
        if (text.Equals("Infinite", StringComparison.OrdinalIgnoreCase))
        {
            value = Timeout.InfiniteTimeSpan;
            return true;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }

    private static T Read<T>(IConfiguration section, string key, T current, string option, TryParse<T> parse)
    {
        var text = section[key];
        if (text is null)
        {
            return section.GetSection(key).GetChildren().Any() ? throw NotAValue(section, key, option) : current;
        }

        return parse(text, out var value) ? value : throw Invalid(section, key, text, typeof(T), option);
    }
}
