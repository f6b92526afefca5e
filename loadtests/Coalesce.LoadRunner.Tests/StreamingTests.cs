using System.Text.Json;
using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;
using Coalesce.LoadRunner.Report;
using Coalesce.LoadRunner.Scenarios;

namespace Coalesce.LoadRunner.Tests;

public class StreamingTests
{
    private static readonly MachineInfo Machine =
        new("AMD EPYC", 2, "23.5 GiB", "Debian GNU/Linux 12 (Linux 6.1)", "10.0.401", "wrk 4.1.0", "0.10 0.20 0.30", "abc1234", new DateTimeOffset(2026, 12, 7, 17, 0, 0, TimeSpan.Zero));

    private const long Body = StreamingScenario.BodyBytes;

    private static ClientTiming Leader(double firstByte, double lastByte) => new(true, firstByte - 1, firstByte, lastByte, Body, null);

    private static ClientTiming Follower(double firstByte, double lastByte) => new(false, firstByte - 1, firstByte, lastByte, Body, null);

    private static StreamingRound Round(int round, long executions, params ClientTiming[] clients) =>
        new(round, executions, 100L << 20, (110L + round) << 20, true, clients);

    [Theory]
    [InlineData(95, 19)]
    [InlineData(50, 10)]
    [InlineData(100, 20)]
    [InlineData(1, 1)]
    public void A_percentile_is_the_nearest_rank(double percentile, double expected) =>
        Assert.Equal(expected, Statistics.Percentile(Enumerable.Range(1, 20).Select(i => (double)(21 - i)), percentile));

    [Fact]
    public void The_95th_percentile_of_64_clients_is_the_61st_smallest_and_of_none_zero()
    {
        Assert.Equal(61, Statistics.Percentile(Enumerable.Range(1, 64).Select(i => (double)i), 95));
        Assert.Equal(0, Statistics.Percentile([], 95));
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.Percentile([1.0], 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Statistics.Percentile([1.0], 101));
    }

    [Fact]
    public void Leaders_and_followers_are_summarized_apart_over_every_round_and_failed_clients_only_count_as_errors()
    {
        var variant = new StreamingVariant("coalesce", "this build", "/coalesce/streaming",
        [
            Round(1, 1, Leader(2, 2000), Follower(4, 2010), Follower(6, 2020)),
            Round(2, 3, Leader(3, 2001), Follower(5, 2030), new ClientTiming(false, 4, 5, 900, 1000, "IOException: reset")),
            Round(3, 2, Leader(1, 1999), Follower(8, 2040)),
        ]);

        Assert.Equal(3, variant.Ran.Clients);
        Assert.Equal(new LatencySummary(2, 3, 3), variant.Ran.FirstByte);
        Assert.Equal(new LatencySummary(2000, 2001, 2001), variant.Ran.LastByte);
        Assert.Equal(4, variant.Shared.Clients);
        Assert.Equal(new LatencySummary(5.5, 8, 8), variant.Shared.FirstByte);
        Assert.Equal(1, variant.Errors);
        Assert.Equal(2, variant.MedianExecutions);
        Assert.Equal(1, variant.MinExecutions);
        Assert.Equal(3, variant.MaxExecutions);
        Assert.Equal(112L << 20, variant.MedianPeakRssBytes);
        Assert.Equal(113L << 20, variant.MaxPeakRssBytes);
        Assert.Equal(12L << 20, variant.MedianPeakGrowthBytes);
    }

    [Fact]
    public void The_report_has_a_row_per_role_with_the_variants_figures_once_and_the_earlier_build_beside()
    {
        var settings = RunSettings.Read(new SettingsReader(["--scenarios", "streaming"], _ => null), "/tmp/r");
        var result = new StreamingResult(MeasurementMode.BothCores, 3, Body,
        [
            new StreamingVariant("off", "this build", "/off/streaming", [Round(1, 3, Leader(2, 2000), Leader(3, 2001), Leader(4, 2002))]),
            new StreamingVariant("coalesce", "this build", "/coalesce/streaming", [Round(1, 1, Leader(2, 2000), Follower(4, 2010), Follower(6, 2020))]),
            new StreamingVariant("coalesce", "`a51c649`", "/coalesce/streaming", [Round(1, 3, Leader(2, 2000), Leader(2050, 4100), Leader(2060, 4120))]),
        ]);
        var report = new LoadReport(settings, Machine, [result], new Dictionary<string, JsonElement>());

        var markdown = MarkdownReport.Write(report, kept: null);

        Assert.Contains("## 9. Streaming to followers: 5 MB written over 2 s", markdown, StringComparison.Ordinal);
        Assert.Contains("| off (`/off/streaming`) | this build | ran | 3 | 3.0 / 4.0 / 4.0 | 2001.0 / 2002.0 / 2002.0 | 3 | 111.0 MiB (111.0 MiB) | 11.0 MiB | 0 |", markdown, StringComparison.Ordinal);
        Assert.Contains("| coalesce (`/coalesce/streaming`) | this build | ran | 1 | 2.0 / 2.0 / 2.0 | 2000.0 / 2000.0 / 2000.0 | 1 |", markdown, StringComparison.Ordinal);
        Assert.Contains("|  |  | shared | 2 | 5.0 / 6.0 / 6.0 | 2015.0 / 2020.0 / 2020.0 |  |  |  |  |", markdown, StringComparison.Ordinal);
        Assert.Contains("| coalesce (`/coalesce/streaming`) | `a51c649` | ran | 3 | 2050.0 / 2060.0 / 2060.0 |", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("## 1. Stampede", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("did not let the peak be reset", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void The_json_report_carries_every_client_and_the_summaries()
    {
        var settings = RunSettings.Read(new SettingsReader(["--scenarios", "streaming"], _ => null), "/tmp/r");
        var result = new StreamingResult(MeasurementMode.BothCores, 2, Body,
            [new StreamingVariant("coalesce", "this build", "/coalesce/streaming", [Round(1, 1, Leader(2, 2000), Follower(4, 2010))])]);

        using var json = JsonDocument.Parse(JsonReport.Write(new LoadReport(settings, Machine, [result], new Dictionary<string, JsonElement>())));
        var streaming = json.RootElement.GetProperty("results")[0];

        Assert.Equal("streaming", streaming.GetProperty("scenario").GetString());
        var variant = streaming.GetProperty("variants")[0];
        Assert.Equal(2, variant.GetProperty("rounds")[0].GetProperty("clients").GetArrayLength());
        Assert.Equal(4, variant.GetProperty("shared").GetProperty("firstByte").GetProperty("medianMs").GetDouble());
    }

    [Fact]
    public void Resident_memory_is_read_from_the_status_lines_in_bytes()
    {
        const string status = "Name:\tdotnet\nVmPeak:\t 3000000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t24\n";

        Assert.Equal(new ResidentMemory(100L << 20, 200L << 20), ProcessMemory.Parse(status));
        Assert.Throws<FormatException>(() => ProcessMemory.Parse("Name:\tdotnet\n"));
    }

    [Fact]
    public void The_streaming_settings_are_read_and_a_missing_earlier_build_is_named()
    {
        var settings = RunSettings.Read(new SettingsReader(["--streaming-clients", "16"], _ => null), "/tmp/r");
        Assert.Equal(16, settings.StreamingClients);
        Assert.Null(settings.BeforeApp);
        Assert.Contains("streaming", settings.Scenarios);

        var missing = Assert.Throws<RunnerException>(() =>
            RunSettings.Read(new SettingsReader(["--before-app", "/nonexistent/Coalesce.LoadTestApp.dll"], _ => null), "/tmp/r"));
        Assert.Contains("--before-app (BEFORE_APP) must name a built Coalesce.LoadTestApp.dll", missing.Message, StringComparison.Ordinal);
        Assert.Throws<RunnerException>(() => RunSettings.Read(new SettingsReader(["--streaming-clients", "0"], _ => null), "/tmp/r"));
    }
}
