using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace Coalesce.LoadRunner.Options;

/// <summary>
/// Every setting of a run, validated. Each is an option (<c>--duration 5</c>) and an environment variable of the
/// same name (<c>DURATION=5</c>); <c>--smoke</c> changes the defaults to a run of a few minutes that checks the
/// runner, not the library. See loadtests/README.md.
/// </summary>
internal sealed record RunSettings
{
    public static IReadOnlyList<string> AllScenarios { get; } =
        ["stampede", "overhead", "memo", "zipf", "scale", "memory", "outage", "scaleout", "streaming"];

    public static IReadOnlySet<string> Flags { get; } = new HashSet<string>(StringComparer.Ordinal) { "smoke", "no-build", "help" };

    public static IReadOnlySet<string> Names { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "duration", "rounds", "max-rounds", "round-seconds", "warmup", "settle", "threads", "stampede-connections", "connections",
        "zipf-connections", "scale-connections", "memory-keys", "flood-keys", "outage-before", "outage", "outage-after",
        "scaleout-keys", "scaleout-connections", "scaleout-writes", "scenarios", "results", "mode", "app-cpu", "load-cpu",
        "steady-window", "steady-tolerance", "steady-max", "resolution", "streaming-clients", "before-app",
    };

    public const string Usage = """
        Usage: loadtests/run.sh [options]     (or: dotnet run -c Release --project loadtests/Coalesce.LoadRunner -- [options])

        Each option is also read from the environment variable of the same name (--scale-connections: SCALE_CONNECTIONS).
          --mode both-cores|one-core   one or both, space- or comma-separated (both-cores)
          --scenarios "stampede overhead memo zipf scale memory outage scaleout streaming"   which to run (all)
          --duration 10      seconds per measured run or round      --rounds 5        alternating rounds (the least, one-core)
          --warmup 2         seconds of warm-up (both-cores)        --settle 3        seconds between warm-up and measurement
          --threads 2        wrk threads                            --connections 64  overhead and hit path
          --stampede-connections 256   --zipf-connections 128   --scale-connections "64 512 2000"
          --memory-keys 5000   --flood-keys 100000   --outage-before 3   --outage 10   --outage-after 3
          --scaleout-keys 50   --scaleout-connections 20   --scaleout-writes 200
          --streaming-clients 64   --before-app PATH   (a Coalesce.LoadTestApp.dll built at an earlier commit: the
                             streaming scenario runs its coalesce variant on it too, for a before/after table)
          one-core: --app-cpu 0  --load-cpu 1  --steady-window 1 (s)  --steady-tolerance 2 (%)  --steady-max 60 (s)
                    --resolution 2 (%, the widest 95% interval of a ratio)  --max-rounds 45
                    --round-seconds 4 (seconds per variant per round: many short rounds resolve 2% on a noisy
                    machine, where 15 rounds of 10 s left ±6%)
          --results DIR      where report.md, report.json and raw/ go (loadtests/results; /tmp/coalesce-loadtest-smoke with --smoke)
          --smoke            1 s rounds, few of them, small key counts: checks the runner end to end in a few minutes
          --no-build         do not build Coalesce.LoadTestApp first
        """;

    public required int DurationSeconds { get; init; }

    public required int Rounds { get; init; }

    public required int MaxRounds { get; init; }

    /// <summary>
    /// One-core mode: seconds per variant per round of a comparison. On a machine whose speed drifts (a shared VM), many
    /// short alternating rounds resolve a ratio better than few long ones: 45 rounds of 4 s gave ±1.9% where 15 of 10 s
    /// gave ±6.3% (2026-12-07).
    /// </summary>
    public required int RoundSeconds { get; init; }

    public required int WarmupSeconds { get; init; }

    public required int SettleSeconds { get; init; }

    public required int Threads { get; init; }

    public required int StampedeConnections { get; init; }

    public required int Connections { get; init; }

    public required int ZipfConnections { get; init; }

    public required IReadOnlyList<int> ScaleConnections { get; init; }

    public required int MemoryKeys { get; init; }

    public required int FloodKeys { get; init; }

    public required int OutageBeforeSeconds { get; init; }

    public required int OutageSeconds { get; init; }

    public required int OutageAfterSeconds { get; init; }

    public required int ScaleOutKeys { get; init; }

    public required int ScaleOutConnections { get; init; }

    public required int ScaleOutWrites { get; init; }

    public required int StreamingClients { get; init; }

    /// <summary>A build of the app at an earlier commit whose coalesce variant the streaming scenario measures too, or null.</summary>
    public string? BeforeApp { get; init; }

    public required IReadOnlyList<string> Scenarios { get; init; }

    /// <summary>Whether the scenarios were named: a default run skips scaleout without redis-server, a named one stops.</summary>
    public required bool ScenariosGiven { get; init; }

    public required IReadOnlyList<MeasurementMode> Modes { get; init; }

    public required int SteadyWindowSeconds { get; init; }

    public required double SteadyTolerance { get; init; }

    public required int SteadyMaxSeconds { get; init; }

    public required double Resolution { get; init; }

    /// <summary>Where the report goes; left out of report.json, whose place it is.</summary>
    [JsonIgnore]
    public string ResultsFolder { get; init; } = "";

    public required bool Smoke { get; init; }

    [JsonIgnore]
    public bool Build { get; init; } = true;

    /// <summary>The options that reproduce this run, for the report.</summary>
    public required string CommandLine { get; init; }

    public bool Runs(string scenario) => Scenarios.Contains(scenario, StringComparer.Ordinal);

    public static RunSettings Read(SettingsReader reader, string defaultResults)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var smoke = reader.Flag("smoke");
        int Whole(string name, int normal, int quick, int min = 1, int max = 10000) => reader.Whole(name, smoke ? quick : normal, min, max);

        var scenarios = ReadScenarios(reader);
        var modes = ReadModes(reader, out var appCpu, out var loadCpu);
        var settings = new RunSettings
        {
            DurationSeconds = Whole("duration", 10, 1),
            Rounds = Whole("rounds", 5, 2, max: 100),
            MaxRounds = Whole("max-rounds", 45, 3, max: 200),
            RoundSeconds = Whole("round-seconds", 4, 1, max: 600),
            WarmupSeconds = Whole("warmup", 2, 1),
            SettleSeconds = Whole("settle", 3, 1),
            Threads = Whole("threads", 2, 2),
            StampedeConnections = Whole("stampede-connections", 256, 256),
            Connections = Whole("connections", 64, 64),
            ZipfConnections = Whole("zipf-connections", 128, 128),
            ScaleConnections = reader.WholeList("scale-connections", smoke ? "64 512" : "64 512 2000", 1, 10000),
            MemoryKeys = Whole("memory-keys", 5000, 1000, 100, 1_000_000),
            FloodKeys = Whole("flood-keys", 100_000, 5000, 100, 1_000_000),
            OutageBeforeSeconds = Whole("outage-before", 3, 1),
            OutageSeconds = Whole("outage", 10, 2),
            OutageAfterSeconds = Whole("outage-after", 3, 1),
            ScaleOutKeys = Whole("scaleout-keys", 50, 10),
            ScaleOutConnections = Whole("scaleout-connections", 20, 20),
            ScaleOutWrites = Whole("scaleout-writes", 200, 20),
            StreamingClients = Whole("streaming-clients", 64, 64, max: 1000),
            BeforeApp = ReadBeforeApp(reader),
            Scenarios = scenarios,
            ScenariosGiven = reader.IsGiven("scenarios"),
            Modes = modes,
            SteadyWindowSeconds = Whole("steady-window", 1, 1, max: 10),
            SteadyTolerance = reader.Percent("steady-tolerance", 2, 0.1, 50),
            SteadyMaxSeconds = Whole("steady-max", 60, 8, max: 600),
            Resolution = reader.Percent("resolution", 2, 0.1, 50),
            ResultsFolder = Path.GetFullPath(reader.Text("results", smoke ? Path.Combine(Path.GetTempPath(), "coalesce-loadtest-smoke") : defaultResults)),
            Smoke = smoke,
            Build = !reader.Flag("no-build"),
            CommandLine = "",
        };

        if (settings.MaxRounds < settings.Rounds)
        {
            throw new RunnerException($"--max-rounds ({settings.MaxRounds}) must be at least --rounds ({settings.Rounds}).");
        }

        if (modes.Any(m => m.IsOneCore) && appCpu == loadCpu)
        {
            throw new RunnerException($"--app-cpu and --load-cpu must differ; both are {appCpu}.");
        }

        return settings with { CommandLine = settings.Describe(reader) };
    }

    private static string? ReadBeforeApp(SettingsReader reader)
    {
        if (!reader.IsGiven("before-app"))
        {
            return null;
        }

        var path = Path.GetFullPath(reader.Text("before-app", ""));
        return File.Exists(path) && path.EndsWith(".dll", StringComparison.Ordinal)
            ? path
            : throw new RunnerException($"--before-app (BEFORE_APP) must name a built Coalesce.LoadTestApp.dll; there is no such file at '{path}'.");
    }

    private static List<string> ReadScenarios(SettingsReader reader)
    {
        var named = SettingsReader.Words(reader.Text("scenarios", string.Join(' ', AllScenarios)));
        if (named.Count == 0)
        {
            throw new RunnerException($"--scenarios (SCENARIOS) must name at least one of: {string.Join(' ', AllScenarios)}.");
        }

        foreach (var name in named)
        {
            if (!AllScenarios.Contains(name, StringComparer.Ordinal))
            {
                throw new RunnerException($"--scenarios (SCENARIOS) may name only: {string.Join(' ', AllScenarios)}; it has '{name}'.");
            }
        }

        // In the order of the report, each once.
        return [.. AllScenarios.Where(s => named.Contains(s, StringComparer.Ordinal))];
    }

    private static List<MeasurementMode> ReadModes(SettingsReader reader, out int appCpu, out int loadCpu)
    {
        appCpu = reader.Whole("app-cpu", 0, 0, 1023);
        loadCpu = reader.Whole("load-cpu", 1, 0, 1023);
        var modes = new List<MeasurementMode>();
        foreach (var name in SettingsReader.Words(reader.Text("mode", MeasurementMode.BothCoresName)))
        {
            var mode = name switch
            {
                MeasurementMode.BothCoresName => MeasurementMode.BothCores,
                MeasurementMode.OneCoreName => MeasurementMode.OneCore(appCpu, loadCpu),
                _ => throw new RunnerException($"--mode (MODE) may name only: {string.Join(' ', MeasurementMode.Names)}; it has '{name}'."),
            };
            if (!modes.Contains(mode))
            {
                modes.Add(mode);
            }
        }

        return modes.Count > 0 ? modes : throw new RunnerException("--mode (MODE) must name a mode.");
    }

    private string Describe(SettingsReader reader)
    {
        var line = new StringBuilder("loadtests/run.sh");
        if (Smoke)
        {
            line.Append(" --smoke");
        }

        line.Append(CultureInfo.InvariantCulture, $" --mode {string.Join(',', Modes.Select(m => m.Name))}");
        if (Scenarios.Count != AllScenarios.Count)
        {
            line.Append(CultureInfo.InvariantCulture, $" --scenarios {string.Join(',', Scenarios)}");
        }

        line.Append(CultureInfo.InvariantCulture, $" --duration {DurationSeconds} --rounds {Rounds} --warmup {WarmupSeconds} --settle {SettleSeconds}");
        if (Modes.Any(m => m.IsOneCore))
        {
            line.Append(CultureInfo.InvariantCulture, $" --max-rounds {MaxRounds} --round-seconds {RoundSeconds}");
        }

        foreach (var name in Names.Order(StringComparer.Ordinal))
        {
            if (name is not ("mode" or "scenarios" or "duration" or "rounds" or "warmup" or "settle" or "max-rounds" or "round-seconds" or "results") && reader.IsGiven(name))
            {
                var value = reader.Text(name, "");
                line.Append(CultureInfo.InvariantCulture, $" --{name} {(value.Contains(' ', StringComparison.Ordinal) ? $"\"{value}\"" : value)}");
            }
        }

        return line.ToString();
    }
}
