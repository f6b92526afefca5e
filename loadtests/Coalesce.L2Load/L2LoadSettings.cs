using System.Globalization;

namespace Coalesce.L2Load;

/// <summary>What one run measures: workers, keys, the mix, value sizes, rounds and their length.</summary>
internal sealed record L2LoadSettings(int Workers, int Keys, int SetPercent, int MinBytes, int MaxBytes, int Rounds, TimeSpan RoundLength)
{
    public const string Usage =
        """
        Usage: dotnet run -c Release --project loadtests/Coalesce.L2Load -- [options]
          --workers N       concurrent workers (default 64)
          --keys N          distinct keys, all stored before the rounds (default 10000)
          --set-percent N   share of operations that are sets, 0-100 (default 10; the rest are gets)
          --min-bytes N     smallest value (default 1024)
          --max-bytes N     largest value (default 4096)
          --rounds N        rounds per topology, alternating one node / three masters (default 3)
          --seconds N       length of a round (default 10)
        """;

    public static L2LoadSettings Default { get; } = new(64, 10_000, 10, 1024, 4096, 3, TimeSpan.FromSeconds(10));

    /// <summary>Reads <c>--name value</c> pairs over <see cref="Default"/>; an unknown name or a bad value throws naming it.</summary>
    public static L2LoadSettings Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var settings = Default;
        for (var i = 0; i < args.Count; i += 2)
        {
            var name = args[i];
            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{name} needs a value.");
            }

            var value = args[i + 1];
            settings = name switch
            {
                "--workers" => settings with { Workers = Number(name, value, 1, 10_000) },
                "--keys" => settings with { Keys = Number(name, value, 1, 10_000_000) },
                "--set-percent" => settings with { SetPercent = Number(name, value, 0, 100) },
                "--min-bytes" => settings with { MinBytes = Number(name, value, 1, 1 << 20) },
                "--max-bytes" => settings with { MaxBytes = Number(name, value, 1, 1 << 20) },
                "--rounds" => settings with { Rounds = Number(name, value, 1, 100) },
                "--seconds" => settings with { RoundLength = TimeSpan.FromSeconds(Number(name, value, 1, 3600)) },
                _ => throw new ArgumentException($"Unknown option '{name}'.\n{Usage}"),
            };
        }

        if (settings.MinBytes > settings.MaxBytes)
        {
            throw new ArgumentException($"--min-bytes ({settings.MinBytes}) is larger than --max-bytes ({settings.MaxBytes}).");
        }

        return settings;
    }

    /// <summary>The value size of key <paramref name="key"/>: spread evenly over [min, max], the same on every run.</summary>
    public int ValueBytes(int key) =>
        MinBytes + (int)((uint)key * 2654435761u % (uint)(MaxBytes - MinBytes + 1));

    /// <summary>The command line that reproduces these settings.</summary>
    public string CommandLine() => string.Create(
        CultureInfo.InvariantCulture,
        $"dotnet run -c Release --project loadtests/Coalesce.L2Load -- --workers {Workers} --keys {Keys} --set-percent {SetPercent} --min-bytes {MinBytes} --max-bytes {MaxBytes} --rounds {Rounds} --seconds {RoundLength.TotalSeconds:0}");

    private static int Number(string name, string value, int min, int max)
    {
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            throw new ArgumentException($"{name} must be a whole number, not '{value}'.");
        }

        if (number < min || number > max)
        {
            throw new ArgumentException($"{name} must be between {min} and {max}, not {number}.");
        }

        return number;
    }
}
