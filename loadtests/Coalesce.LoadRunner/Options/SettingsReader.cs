using System.Globalization;

namespace Coalesce.LoadRunner.Options;

/// <summary>
/// The run's settings as text, by precedence: the command line (<c>--duration 5</c> or <c>--duration=5</c>), then the
/// environment (<c>DURATION=5</c>, the names run.sh has always read), then the smoke preset when <c>--smoke</c> is
/// given, then the defaults. <see cref="RunSettings"/> validates them.
/// </summary>
internal sealed class SettingsReader
{
    private readonly Dictionary<string, string> _commandLine = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly Func<string, string?> _environment;

    public SettingsReader(IReadOnlyList<string> arguments, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        _environment = environment;
        for (var i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            if (!argument.StartsWith("--", StringComparison.Ordinal) || argument.Length == 2)
            {
                throw new RunnerException($"unexpected argument '{argument}'; options start with '--' (see --help).");
            }

            var name = argument[2..];
            var equals = name.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                _commandLine[name[..equals]] = name[(equals + 1)..];
            }
            else if (RunSettings.Flags.Contains(name))
            {
                _flags.Add(name);
            }
            else if (i + 1 < arguments.Count)
            {
                _commandLine[name] = arguments[++i];
            }
            else
            {
                throw new RunnerException($"option --{name} needs a value.");
            }
        }

        foreach (var name in _commandLine.Keys.Concat(_flags))
        {
            if (!RunSettings.Names.Contains(name) && !RunSettings.Flags.Contains(name))
            {
                throw new RunnerException($"unknown option --{name} (see --help).");
            }
        }
    }

    public bool Flag(string name) => _flags.Contains(name) || _environment(EnvironmentName(name)) is "1" or "true";

    /// <summary>Whether the setting was given on the command line or in the environment (not a default).</summary>
    public bool IsGiven(string name) => _commandLine.ContainsKey(name) || !string.IsNullOrEmpty(_environment(EnvironmentName(name)));

    public string Text(string name, string fallback) =>
        _commandLine.TryGetValue(name, out var value) ? value
        : _environment(EnvironmentName(name)) is { Length: > 0 } fromEnvironment ? fromEnvironment
        : fallback;

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public int Whole(string name, int fallback, int min, int max)
    {
        var text = Text(name, fallback.ToString(CultureInfo.InvariantCulture));
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new RunnerException($"--{name} ({EnvironmentName(name)}) must be a whole number from {min} to {max}; it is '{text}'.");
    }

    /// <summary>A list of whole numbers, each from <paramref name="min"/> to <paramref name="max"/>, separated by spaces or commas.</summary>
    public IReadOnlyList<int> WholeList(string name, string fallback, int min, int max)
    {
        var text = Text(name, fallback);
        var values = new List<int>();
        foreach (var item in Words(text))
        {
            values.Add(int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
                ? value
                : throw new RunnerException($"--{name} ({EnvironmentName(name)}) must list whole numbers from {min} to {max}; it has '{item}'."));
        }

        return values.Count > 0 ? values : throw new RunnerException($"--{name} ({EnvironmentName(name)}) must list at least one number.");
    }

    /// <summary>A percentage such as <c>2</c> (for 2%), from <paramref name="min"/> to <paramref name="max"/>, as a fraction.</summary>
    public double Percent(string name, double fallback, double min, double max)
    {
        var text = Text(name, fallback.ToString(CultureInfo.InvariantCulture));
        return double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value / 100
            : throw new RunnerException($"--{name} ({EnvironmentName(name)}) must be a percentage from {min} to {max}; it is '{text}'.");
    }

    public static IReadOnlyList<string> Words(string text) =>
        text.Split([' ', ',', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary><c>scale-connections</c> is read from <c>SCALE_CONNECTIONS</c>.</summary>
    public static string EnvironmentName(string name) => name.Replace('-', '_').ToUpperInvariant();
}
