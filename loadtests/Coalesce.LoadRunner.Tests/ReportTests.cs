using System.Text.Json;
using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Report;
using Coalesce.LoadRunner.Scenarios;

namespace Coalesce.LoadRunner.Tests;

public class ReportTests
{
    private static readonly MeasurementMode OneCore = MeasurementMode.OneCore(0, 1);

    private static readonly MachineInfo Machine =
        new("AMD EPYC", 2, "23.5 GiB", "Debian GNU/Linux 12 (Linux 6.1)", "10.0.401", "wrk 4.1.0", "0.10 0.20 0.30", "abc1234", new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero));

    private static LoadReport Report()
    {
        var settings = RunSettings.Read(new SettingsReader(["--scenarios", "stampede overhead scaleout", "--mode", "one-core both-cores"], _ => null), "/tmp/r");
        Variant[] overhead = [new("off", "unique.off", "/off/unique"), new("coalesce", "unique.coalesce", "/coalesce/unique")];
        Comparison Compare(double ratio) => Comparison.Summarize(
            overhead,
            [Runs.Of("off", 1, 40_000), Runs.Of("coalesce", 1, 40_000 * ratio), Runs.Of("coalesce", 2, 30_000 * ratio), Runs.Of("off", 2, 30_000)],
            [new WarmUp("off", 6, true, [30_000, 40_000, 40_100, 40_200]), new WarmUp("coalesce", 60, false, [1, 2, 3])],
            0.02);
        ScenarioResult[] results =
        [
            new StampedeResult(OneCore, [Runs.Of("off", 0, 2_500, executions: 25_000), Runs.Of("coalesce", 0, 2_400, executions: 100)], []),
            new OverheadResult(OneCore, Compare(0.93), OverheadScenario.Goal),
            new OverheadResult(MeasurementMode.BothCores, Compare(0.98), OverheadScenario.Goal),
            new SkippedResult(OneCore, "scaleout", "redis-server is not installed"),
        ];
        var stats = new Dictionary<string, JsonElement> { ["one-core"] = JsonDocument.Parse("""{"endpoints":[]}""").RootElement };
        return new LoadReport(settings, Machine, results, stats);
    }

    [Fact]
    public void Every_table_is_preceded_by_the_mode_it_was_measured_in()
    {
        var markdown = MarkdownReport.Write(Report(), kept: null);

        var overhead = markdown[markdown.IndexOf("## 2. Overhead", StringComparison.Ordinal)..];
        var oneCore = overhead.IndexOf("*Mode: one core: the app pinned to CPU 0, wrk to CPU 1.*", StringComparison.Ordinal);
        var bothCores = overhead.IndexOf("*Mode: both cores: the app and wrk share the machine's cores.*", StringComparison.Ordinal);
        Assert.True(oneCore >= 0 && bothCores > oneCore);
        var lines = markdown.Split('\n');
        var tables = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("| Variant |", StringComparison.Ordinal))
            {
                tables++;
                Assert.StartsWith("*Mode: ", lines[..i].Last(l => l.Length > 0), StringComparison.Ordinal);
            }
        }

        Assert.Equal(3, tables);
    }

    [Fact]
    public void The_overhead_table_has_the_median_ratio_its_spread_and_whether_the_goal_is_met()
    {
        var markdown = MarkdownReport.Write(Report(), kept: null);

        Assert.Contains("| coalesce (`/coalesce`) | 64 | 32550 | 93.0% (93.0%–93.0%, ±0.0%) |", markdown, StringComparison.Ordinal);
        Assert.Contains("not met (< 97.0%)", markdown, StringComparison.Ordinal);
        Assert.Contains("met (>= 97.0%)", markdown, StringComparison.Ordinal);
        Assert.Contains("Warm-up: off steady after 6 s, coalesce not steady after 60 s. 2 rounds;", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_scenarios_that_ran_have_sections_and_a_skipped_one_says_why()
    {
        var markdown = MarkdownReport.Write(Report(), kept: null);

        Assert.Contains("## 1. Stampede", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("## 4. Zipf", markdown, StringComparison.Ordinal);
        Assert.Contains("Skipped: redis-server is not installed.", markdown, StringComparison.Ordinal);
        Assert.Contains("| coalesce (`/coalesce`) | 64 | 2400 | 10.0 | 0.4% |", markdown, StringComparison.Ordinal);
        Assert.Contains("Reproduce: `loadtests/run.sh --mode one-core,both-cores --scenarios stampede,overhead,scaleout", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void What_was_recorded_by_hand_after_the_marker_is_kept()
    {
        const string earlier = "# Old report\n\n## 1. Stampede\n\nold figures\n\n<!-- Recorded by hand from here on; loadtests/run.sh keeps it. -->\n\n## MemoCache vs peers\n\nby hand\n";

        var kept = MarkdownReport.KeptPart(earlier);
        var markdown = MarkdownReport.Write(Report(), kept);

        Assert.EndsWith(MarkdownReport.KeepMarker + "\n\n## MemoCache vs peers\n\nby hand\n", markdown, StringComparison.Ordinal);
        Assert.DoesNotContain("old figures", markdown, StringComparison.Ordinal);
        Assert.Null(MarkdownReport.KeptPart("# nothing kept"));
        Assert.Null(MarkdownReport.KeptPart(null));
    }

    [Fact]
    public void The_json_report_names_each_results_scenario_and_mode()
    {
        using var json = JsonDocument.Parse(JsonReport.Write(Report()));
        var results = json.RootElement.GetProperty("results");

        Assert.Equal("stampede", results[0].GetProperty("scenario").GetString());
        Assert.Equal("one-core", results[0].GetProperty("mode").GetProperty("name").GetString());
        Assert.Equal("overhead", results[2].GetProperty("scenario").GetString());
        Assert.Equal("both-cores", results[2].GetProperty("mode").GetProperty("name").GetString());
        Assert.Equal(0.98, results[2].GetProperty("comparison").GetProperty("variants")[1].GetProperty("vsBaseline").GetProperty("median").GetDouble(), 9);
        Assert.Equal("skipped", results[3].GetProperty("scenario").GetString());
        Assert.Equal("abc1234", json.RootElement.GetProperty("machine").GetProperty("commit").GetString());
        Assert.True(json.RootElement.GetProperty("coalesceStats").TryGetProperty("one-core", out _));
    }
}
