using System.Globalization;
using System.Text;
using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Scenarios;
using static Coalesce.LoadRunner.Report.Format;

namespace Coalesce.LoadRunner.Report;

/// <summary>
/// report.md: one section per scenario that ran, and in it one table per mode, each table under a line naming its
/// mode. Whatever follows the keep marker in the previous report.md (sections recorded by hand) is kept at the end.
/// </summary>
internal static class MarkdownReport
{
    public const string KeepMarker = "<!-- Recorded by hand from here on; the load runner keeps it. -->";

    // The marker run.sh wrote before the runner replaced it: a report of then still keeps its hand-recorded part.
    private const string FormerKeepMarker = "<!-- Recorded by hand from here on; loadtests/run.sh keeps it. -->";

    /// <summary>The hand-recorded part of an earlier report.md (from its keep marker on, the marker written anew), or null.</summary>
    public static string? KeptPart(string? earlier)
    {
        if (earlier is null)
        {
            return null;
        }

        foreach (var marker in new[] { KeepMarker, FormerKeepMarker })
        {
            var at = earlier.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                return KeepMarker + earlier[(at + marker.Length)..];
            }
        }

        return null;
    }

    public static string Write(LoadReport report, string? kept)
    {
        ArgumentNullException.ThrowIfNull(report);
        var md = new StringBuilder();
        WriteHeader(md, report);
        WriteMachine(md, report.Machine);
        WriteStampede(md, report);
        WriteOverhead(md, report);
        WriteMemoHit(md, report);
        WriteZipf(md, report);
        WriteScale(md, report);
        WriteMemory(md, report);
        WriteOutage(md, report);
        WriteScaleOut(md, report);
        WriteStreaming(md, report);
        md.Append("Errors are responses with status 400 or more plus socket errors and timeouts, as wrk counts them. Raw wrk ")
          .Append("output (with `--latency` distributions) and the apps' logs are in `raw/` beside this report (not committed); ")
          .Append("every run of every round, and the app's `/_coalesce/stats` after the scenarios, are in `report.json`.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Reproduce: `{report.Reproduce}`\n");
        if (kept is not null)
        {
            md.Append('\n').Append(kept.TrimEnd()).Append('\n');
        }

        return md.ToString();
    }

    private static void WriteHeader(StringBuilder md, LoadReport report)
    {
        var settings = report.Settings;
        md.Append("# Coalesce HTTP load test report\n\n");
        md.Append(CultureInfo.InvariantCulture,
            $"Generated {report.Machine.Started:yyyy-MM-ddTHH:mm:ssZ} from commit `{report.Machine.Commit}` by `loadtests/Coalesce.LoadRunner` ")
          .Append(CultureInfo.InvariantCulture,
            $"(`loadtests/run.sh`): wrk ({settings.Threads} threads) against `Coalesce.LoadTestApp` (Release) on 127.0.0.1. Each variant is ")
          .Append(CultureInfo.InvariantCulture,
            $"warmed up, paused {settings.SettleSeconds} s, then measured for {settings.DurationSeconds} s; the overhead and hit-path ")
          .Append("scenarios measure their variants in alternating rounds (the order reversed every other round) and report the median ")
          .Append("of the rounds' ratios to the baseline of the same round, with the lowest and highest and the half width of the ratio's ")
          .Append("95% interval (±). *App CPU per request* is the app's user + system time (`/proc/<pid>/stat`) over the run divided by ")
          .Append("its requests. Ratios compare variants measured in the same run and mode; absolute figures are bounded by the machine.\n\n");
        foreach (var mode in settings.Modes)
        {
            md.Append(CultureInfo.InvariantCulture, $"- **{mode.Description}**: ");
            md.Append(mode.IsOneCore
                ? string.Create(CultureInfo.InvariantCulture,
                    $"`taskset`, as an app in a one-CPU container; Redis and the invalidation probe run on wrk's CPU. Each variant warms up in {settings.SteadyWindowSeconds} s windows until three in a row are within {Percent(settings.SteadyTolerance)} of one another (at most {settings.SteadyMaxSeconds} s), and a comparison takes at least {settings.Rounds} rounds of {settings.RoundSeconds} s per variant, more (up to {settings.MaxRounds}) until every ratio's 95% interval is at most {Percent(settings.Resolution)} wide.")
                : string.Create(CultureInfo.InvariantCulture,
                    $"no pinning. Each variant warms up for {settings.WarmupSeconds} s; a comparison takes {settings.Rounds} rounds."));
            md.Append('\n');
        }

        md.Append('\n');
        if (report.Results.OfType<SkippedResult>().FirstOrDefault() is { } skipped)
        {
            md.Append(CultureInfo.InvariantCulture, $"The {skipped.Name} scenario was skipped: {skipped.Reason}.\n\n");
        }

        if (settings.Scenarios.Count != RunSettings.AllScenarios.Count)
        {
            md.Append(CultureInfo.InvariantCulture, $"Only some scenarios ran (`{string.Join(' ', settings.Scenarios)}`); the report has their sections only.\n\n");
        }

        if (settings.Smoke)
        {
            md.Append("**A smoke run** (`--smoke`): 1 s runs, few rounds, small key counts. It checks the runner end to end; its figures say nothing about the library.\n\n");
        }
    }

    private static void WriteMachine(StringBuilder md, MachineInfo machine)
    {
        md.Append("## Machine\n\n");
        new MarkdownTable("", "")
            .Row("CPU", machine.CpuModel)
            .Row("Logical CPUs", machine.LogicalCpus.ToString(CultureInfo.InvariantCulture))
            .Row("Memory", machine.Memory)
            .Row("OS", machine.OperatingSystem)
            .Row(".NET SDK", machine.DotnetSdk)
            .Row("Load generator", machine.LoadGenerator)
            .Row("Load average at start", machine.LoadAverageAtStart)
            .WriteTo(md);
    }

    private static void WriteModeLine(StringBuilder md, MeasurementMode mode) =>
        md.Append(CultureInfo.InvariantCulture, $"*Mode: {mode.Description}.*\n\n");

    private static string Named(string variant, string path) => $"{variant} (`{path}`)";

    private static void WriteStampede(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("stampede"))
        {
            return;
        }

        md.Append("## 1. Stampede: one key, 100 ms handler\n\n");
        md.Append("Every connection asks for the same URL. *Handler executions/s* is how often the 100 ms handler really ran. ")
          .Append("OutputCache keeps its entry for 1 ms only, so what it shows is its locking (one execution while the rest wait), ")
          .Append("as with coalescing; coalescing keeps nothing once the flight ends.\n\n");
        foreach (var result in report.Of<StampedeResult>())
        {
            WriteModeLine(md, result.Mode);
            var off = result.Runs[0];
            var table = new MarkdownTable("Variant", ">Connections", ">Requests/s", ">Handler executions/s", ">Executions vs off",
                ">App CPU per request µs", ">p50 ms", ">p99 ms", ">Errors");
            foreach (var run in result.Runs)
            {
                table.Row(Named(run.Variant, run.Path), Count(run.Connections), Whole(run.RequestsPerSecond), OneDecimal(run.ExecutionsPerSecond),
                    Percent(run.ExecutionsPerSecond, off.ExecutionsPerSecond), OneDecimal(run.CpuPerRequestUs), Ms(run.Wrk.P50Us),
                    Ms(run.Wrk.P99Us), Count(run.Wrk.Errors));
            }

            table.WriteTo(md);
        }
    }

    private static void WriteOverhead(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("overhead"))
        {
            return;
        }

        md.Append("## 2. Overhead: unique keys, trivial handler\n\n");
        md.Append("Every request has a new `?id=`, so nothing can be shared: this is the cost of the middleware on a request it ")
          .Append(CultureInfo.InvariantCulture, $"cannot help. Goal: at least {Percent(OverheadScenario.Goal)} of the requests/s without it. ")
          .Append("*vs off* and *CPU vs off* are medians of the rounds' ratios; the other figures medians over the rounds, CPU per ")
          .Append("request over all of them.\n\n");
        foreach (var result in report.Of<OverheadResult>())
        {
            WriteModeLine(md, result.Mode);
            var table = new MarkdownTable("Variant", ">Connections", ">Requests/s", ">vs off", ">App CPU per request µs", ">CPU vs off",
                ">p50 ms", ">p99 ms", ">Errors", ">Rounds", "Goal");
            foreach (var variant in result.Comparison.Variants)
            {
                var baseline = variant.Variant == result.Comparison.Baseline;
                table.Row(Named(variant.Variant, variant.Path), Count(variant.Connections), Whole(variant.RequestsPerSecond),
                    baseline ? "100.0%" : RatioOverRounds(variant.VsBaseline, Percent),
                    OneDecimal(variant.CpuPerRequestUs), baseline ? "" : RatioOverRounds(variant.CpuVsBaseline, Ratio),
                    Ms(variant.P50Us), Ms(variant.P99Us), Count(variant.Errors), Count(variant.Rounds),
                    baseline ? "baseline" : result.GoalMet ? $"met (>= {Percent(result.Goal)})" : $"not met (< {Percent(result.Goal)})");
            }

            table.WriteTo(md);
            WriteComparisonNote(md, result.Mode, result.Comparison);
        }
    }

    private static void WriteMemoHit(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("memo"))
        {
            return;
        }

        md.Append("## 3. Memoized hit path\n\n");
        md.Append("The same ~0.9 KB JSON from a memoized endpoint, from the same endpoint under OutputCache, and as precomputed bytes ")
          .Append("written by an endpoint (the ceiling of a hit that skips the endpoint); then a ~30 KB JSON page memoized and under ")
          .Append("OutputCache. Each group in alternating rounds; *vs OutputCache* and *CPU vs OutputCache* are medians of the rounds' ")
          .Append(CultureInfo.InvariantCulture, $"ratios. Goals: the memoized hit at least {Times(MemoHitScenario.GoalVsOutputCache)} OutputCache's at both ")
          .Append(CultureInfo.InvariantCulture, $"sizes, and at least {Times(MemoHitScenario.GoalVsPrecomputed)} the precomputed bytes.\n\n");
        foreach (var result in report.Of<MemoHitResult>())
        {
            WriteModeLine(md, result.Mode);
            var table = new MarkdownTable("Variant", ">Connections", ">Requests/s", ">vs OutputCache", ">App CPU per request µs",
                ">CPU vs OutputCache", ">p50 ms", ">p99 ms", ">Handler executions", ">Errors", ">Rounds", "Goal");
            foreach (var comparison in new[] { result.Small, result.Large })
            {
                foreach (var variant in comparison.Variants)
                {
                    var baseline = variant.Variant == comparison.Baseline;
                    var goal = variant.Variant.StartsWith("memo", StringComparison.Ordinal)
                        ? Goal(variant.VsBaseline, MemoHitScenario.GoalVsOutputCache)
                        : "";
                    table.Row(Named(variant.Variant, variant.Path), Count(variant.Connections), Whole(variant.RequestsPerSecond),
                        baseline ? "1.00x" : RatioOverRounds(variant.VsBaseline, Times), OneDecimal(variant.CpuPerRequestUs),
                        baseline ? "" : RatioOverRounds(variant.CpuVsBaseline, Ratio), Ms(variant.P50Us), Ms(variant.P99Us),
                        Count(variant.Executions), Count(variant.Errors), Count(variant.Rounds), goal);
                }
            }

            table.WriteTo(md);
            md.Append(CultureInfo.InvariantCulture,
                $"Memoized hit vs precomputed bytes (~0.9 KB, round by round): {RatioOverRounds(result.MemoVsPrecomputed, Times)}; goal at least {Times(MemoHitScenario.GoalVsPrecomputed)}: {Goal(result.MemoVsPrecomputed, MemoHitScenario.GoalVsPrecomputed)}.\n\n");
            WriteComparisonNote(md, result.Mode, result.Small);
            WriteComparisonNote(md, result.Mode, result.Large);
        }
    }

    private static string Goal(RatioSummary? ratio, double goal) =>
        ratio is { } r && r.Median >= goal ? $"met (>= {Times(goal)})" : $"not met (< {Times(goal)})";

    /// <summary>How the comparison's variants warmed up (one core) and whether its rounds resolved the ratios.</summary>
    private static void WriteComparisonNote(StringBuilder md, MeasurementMode mode, Comparison comparison)
    {
        if (!mode.IsOneCore)
        {
            return;
        }

        var warmUps = comparison.WarmUps.Select(w => w.Steady == true
            ? $"{w.Variant} steady after {w.Seconds} s"
            : $"{w.Variant} not steady after {w.Seconds} s");
        md.Append(CultureInfo.InvariantCulture, $"Warm-up: {string.Join(", ", warmUps)}. ")
          .Append(CultureInfo.InvariantCulture, $"{comparison.Rounds} rounds; ")
          .Append(comparison.Resolved
              ? $"every ratio resolved to {Percent(comparison.Resolution)} (95% interval).\n\n"
              : $"not every ratio resolved to {Percent(comparison.Resolution)} within the rounds allowed: read the ± beside it.\n\n");
    }

    private static void WriteZipf(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("zipf"))
        {
            return;
        }

        md.Append("## 4. Zipf-distributed keys, 20 ms handler\n\n");
        md.Append("Ids 1 to 10,000 drawn with probability proportional to 1/id (Zipf, exponent 1, seeded), so a few ids are hot and ")
          .Append("most are cold. *Hit rate* is the share of requests served without running the handler (coalesced, or memoized for ")
          .Append("`memo`), from `/_coalesce/stats`. `memo` keeps each id for 30 min and was warmed up like the others, so its figures ")
          .Append("are a warm cache's.\n\n");
        foreach (var result in report.Of<ZipfResult>())
        {
            WriteModeLine(md, result.Mode);
            var table = new MarkdownTable("Variant", ">Connections", ">Requests/s", ">Backend executions", ">Executions/s",
                ">Executions per request", ">Hit rate", ">p50 ms", ">p99 ms", ">Errors");
            foreach (var run in result.Runs)
            {
                table.Row(Named(run.Variant, run.Path), Count(run.Connections), Whole(run.RequestsPerSecond), Count(run.Counts.Executions),
                    Whole(run.ExecutionsPerSecond), Ratio(run.ExecutionsPerRequest), Percent(run.Counts.HitRate), Ms(run.Wrk.P50Us),
                    Ms(run.Wrk.P99Us), Count(run.Wrk.Errors));
            }

            table.WriteTo(md);
        }
    }

    private static void WriteScale(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("scale"))
        {
            return;
        }

        md.Append("## 5. Scale: one key, 100 ms handler, more and more connections\n\n");
        md.Append(CultureInfo.InvariantCulture, $"The stampede of section 1 through coalescing at {string.Join(", ", report.Settings.ScaleConnections.Select(c => Thousands(c)))} connections. ")
          .Append("Coalescing should run the handler about once per 100 ms flight however many wait, with no errors, and each follower ")
          .Append("should cost the same CPU however many there are.\n\n");
        foreach (var result in report.Of<ScaleResult>())
        {
            WriteModeLine(md, result.Mode);
            var table = new MarkdownTable("Variant", ">Connections", ">Requests/s", ">Handler executions/s", ">App CPU per request µs",
                ">p50 ms", ">p99 ms", ">Errors");
            foreach (var run in result.Runs)
            {
                table.Row(Named(run.Variant, run.Path), Count(run.Connections), Whole(run.RequestsPerSecond), OneDecimal(run.ExecutionsPerSecond),
                    OneDecimal(run.CpuPerRequestUs), Ms(run.Wrk.P50Us), Ms(run.Wrk.P99Us), Count(run.Wrk.Errors));
            }

            table.WriteTo(md);
        }
    }

    private static void WriteMemory(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("memory"))
        {
            return;
        }

        md.Append("## 6. Memory\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Managed heap after a full collection, grown by {report.Settings.MemoryKeys} distinct ~1 KB JSON responses ")
          .Append(CultureInfo.InvariantCulture, $"(`?id=1..` on one endpoint) kept by each cache, per entry; then the heap grown by {report.Settings.FloodKeys} ")
          .Append("distinct memoized keys under the default bounds (`MemoMaxEntries` 10,000, `MemoMaxBytes` 100 MiB).\n\n");
        foreach (var result in report.Of<MemoryResult>())
        {
            WriteModeLine(md, result.Mode);
            new MarkdownTable("Measure", ">Value")
                .Row($"Heap per memoized response, Coalesce ({result.MemoEntries} entries)", $"{result.MemoBytesPerEntry} B")
                .Row("Heap per cached response, OutputCache memory store", $"{result.OutputCacheBytesPerEntry} B")
                .Row("Coalesce vs OutputCache", Ratio(Statistics.Ratio(result.MemoBytesPerEntry, result.OutputCacheBytesPerEntry)))
                .Row($"Heap growth after {result.FloodKeys} distinct memoized keys", MiB(result.FloodHeapGrowthBytes))
                .Row("Entries kept / bytes the cache counts", $"{result.FloodEntries} / {MiB(result.FloodCacheBytes)}")
                .WriteTo(md);
        }
    }

    private static void WriteOutage(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("outage"))
        {
            return;
        }

        foreach (var (result, index) in report.Of<OutageResult>().Select((r, i) => (r, i)))
        {
            if (index == 0)
            {
                var total = result.BeforeSeconds + result.OutageSeconds + result.AfterSeconds;
                md.Append(CultureInfo.InvariantCulture, $"## 7. Outage: the backend fails for {result.OutageSeconds} s\n\n");
                md.Append("Zipf ids (as in section 4) on a 20 ms backend, memoized for 1 s, `plain` without stale windows and `stale` with ")
                  .Append(CultureInfo.InvariantCulture, $"`StaleWhileRevalidate(2 s)` and `StaleIfError(5 min)`. The warm-up asks for every id once; the run lasts {total} s, ")
                  .Append(CultureInfo.InvariantCulture, $"and {result.BeforeSeconds} s in the backend goes down: for {result.OutageSeconds} s every execution fails after its work ")
                  .Append("(the exception is answered 503). Goal: with the stale windows, about no errors and a flat p99 through the outage; ")
                  .Append("without them, every request for an expired key fails. *During the outage* is what the app counted for requests it ")
                  .Append("answered while the backend was down; *stale answers* are stale-while-revalidate / stale-if-error answers, *refreshes* ")
                  .Append("background refreshes (failed), *backend calls while down* the executions that failed because the backend was down; ")
                  .Append("*logged* the app's warnings and errors over the run, and the log's growth.\n\n");
            }

            WriteModeLine(md, result.Mode);
            var table = new MarkdownTable("Variant", ">Connections", ">Requests", ">Requests/s", ">Errors", ">Error share",
                ">Errors / requests during the outage", ">p50 ms", ">p99 ms", ">Max ms", ">Handler executions", ">Backend calls while down",
                ">Stale answers", ">Refreshes (failed)", ">Logged");
            foreach (var outage in result.Runs)
            {
                var run = outage.Run;
                var counts = run.Counts;
                table.Row(Named(run.Variant, run.Path), Count(run.Connections), Count(run.Wrk.Requests), Whole(run.RequestsPerSecond),
                    Count(run.Wrk.Errors), Percent(run.Wrk.Errors, run.Wrk.Requests),
                    $"{counts.FailedWhileDown} / {counts.AnsweredWhileDown} ({Percent(counts.FailedWhileDown, counts.AnsweredWhileDown)})",
                    Ms(run.Wrk.P50Us), Ms(run.Wrk.P99Us), Ms(run.Wrk.MaxUs), Count(counts.Executions), Count(counts.BackendFailures),
                    $"{counts.StaleHits} / {counts.StaleOnError}", $"{counts.Refreshes} ({counts.RefreshFailures})",
                    $"{outage.WarningsAndErrorsLogged} ({(outage.BytesLogged / 1e6).ToString("0.0", CultureInfo.InvariantCulture)} MB)");
            }

            table.WriteTo(md);
        }
    }

    private static void WriteScaleOut(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("scaleout"))
        {
            return;
        }

        md.Append("## 8. Across instances (Redis)\n\n");
        foreach (var skipped in report.Of<SkippedResult>())
        {
            md.Append(CultureInfo.InvariantCulture, $"*Mode: {skipped.Mode.Description}.* Skipped: {skipped.Reason}.\n\n");
        }

        var first = true;
        foreach (var result in report.Of<ScaleOutResult>())
        {
            if (first)
            {
                WriteScaleOutIntroduction(md, result, report.Settings);
                first = false;
            }

            WriteModeLine(md, result.Mode);
            md.Append("**Simultaneous miss.**\n\n");
            var misses = new MarkdownTable("Variant", ">Instances × connections", ">Keys", ">Backend executions", ">Executions per key",
                ">Max per key", ">Keys run more than once", ">Remote waits", ">Second-level hits", ">Leases won", ">p50 ms", ">p99 ms", ">Errors", "Goal");
            foreach (var miss in new[] { result.MissLocal, result.MissRedis })
            {
                var withRedis = miss == result.MissRedis;
                var goal = (withRedis ? miss.OnePerKey ? "met (1 per key)" : "not met" : "baseline")
                    + (miss.EveryAnswerReceived ? "" : " (not every answer came back in time)");
                misses.Row(withRedis ? "with Redis" : "without Redis", $"{miss.Instances} × {miss.ConnectionsPerInstance}", Count(miss.Keys),
                    Count(miss.Executions.Total), miss.ExecutionsPerKeyMean.ToString("0.00", CultureInfo.InvariantCulture),
                    Count(miss.Executions.MaxPerKey), Count(miss.Executions.KeysRunMoreThanOnce), Count(miss.RemoteWaits),
                    Count(miss.SecondLevelHits), Count(miss.LeasesWon), Ms(miss.Wrk.P50Us), Ms(miss.Wrk.P99Us), Count(miss.Wrk.Errors), goal);
            }

            misses.WriteTo(md);

            var probe = result.Invalidation;
            md.Append("**Invalidation propagation.**\n\n");
            new MarkdownTable(">Writes", ">Reader samples", ">PUT 2xx p50 / p99 ms", ">Fresh poll sent p50 / p99 ms",
                    ">Fresh answer p50 / p90 / p99 / max ms", ">Stale after the 2xx", ">Reader timeouts (5 s)", ">Errors",
                    ">Invalidations published / applied", ">Ack timeouts", ">Redis errors")
                .Row(Count(probe.Writes), Count(probe.Samples), $"{Ms(probe.PutAckP50Us)} / {Ms(probe.PutAckP99Us)}",
                    $"{Ms(probe.FreshPollSentP50Us)} / {Ms(probe.FreshPollSentP99Us)}",
                    $"{Ms(probe.FreshAnswerP50Us)} / {Ms(probe.FreshAnswerP90Us)} / {Ms(probe.FreshAnswerP99Us)} / {Ms(probe.FreshAnswerMaxUs)}",
                    Count(probe.StaleAfterAck), Count(probe.ReaderTimeouts), Count(probe.Errors),
                    $"{probe.InvalidationsPublished} / {probe.InvalidationsApplied}", Count(probe.AckTimeouts), Count(probe.RedisErrors))
                .WriteTo(md);

            md.Append("**Local hits with Redis configured vs without.**\n\n");
            var hits = new MarkdownTable(">Pair", "Variant", ">Round", ">Connections", ">Requests/s", ">App CPU per request µs", ">p50 ms",
                ">p99 ms", ">Errors", ">Ratio (with / without)");
            foreach (var pair in result.HitPairs)
            {
                foreach (var run in new[] { pair.First, pair.Second })
                {
                    hits.Row(Count(pair.Pair), run.Variant, Count(run.Round), Count(run.Connections), Whole(run.RequestsPerSecond),
                        OneDecimal(run.CpuPerRequestUs), Ms(run.Wrk.P50Us), Ms(run.Wrk.P99Us), Count(run.Wrk.Errors),
                        run == pair.Second ? Ratio(pair.Ratio) : "");
                }
            }

            hits.WriteTo(md);
            var runs = result.HitPairs.SelectMany(p => new[] { p.First, p.Second }).ToList();
            md.Append(CultureInfo.InvariantCulture,
                    $"With Redis vs without (the median of the pairs' ratios): {RatioOverRounds(result.HitRatio, Percent)}; goal at least {Percent(result.HitGoal)}: {(result.HitGoalMet ? "met" : "not met")}. ")
              .Append(CultureInfo.InvariantCulture,
                    $"App CPU per request over all rounds: {OneDecimal(CpuPerRequest(runs, "with Redis"))} µs with Redis, {OneDecimal(CpuPerRequest(runs, "without Redis"))} µs without.\n\n")
              .Append(CultureInfo.InvariantCulture,
                    $"Over the whole scenario, warm-up included: with Redis, {Logged(result.LoggedWithRedis)}; without, {Logged(result.LoggedWithoutRedis)} (logs in `raw/`).\n\n");
        }
    }

    private static void WriteStreaming(StringBuilder md, LoadReport report)
    {
        if (!report.Settings.Runs("streaming"))
        {
            return;
        }

        foreach (var (result, index) in report.Of<StreamingResult>().Select((r, i) => (r, i)))
        {
            if (index == 0)
            {
                md.Append("## 9. Streaming to followers: 5 MB written over 2 s\n\n");
                md.Append(CultureInfo.InvariantCulture, $"{result.Clients} requests for one URL released together (each waits on one gate, opened once all wait) on a handler that ")
                  .Append(CultureInfo.InvariantCulture, $"writes {MiB(result.BodyBytes)} in 100 chunks, one every 20 ms, without a `Content-Length`. The runner is the client ")
                  .Append("(wrk cannot time a first byte): each request is timed from its own start to its first body byte (*TTFB*) and its ")
                  .Append("last (*TTLB*). *ran* are the clients the handler ran for (the leader, and any that ran on their own), *shared* those ")
                  .Append("answered with another request's run, told apart by the app (`X-Load-Ran`, set in front of OutputCache and ")
                  .Append("coalescing). Figures are over every client of every measured round (one round unmeasured first); *executions* ")
                  .Append("are the handler's per round; *peak RSS* is the app's resident memory at its highest in a round (`VmHWM`, reset ")
                  .Append("before each round through `/proc/<pid>/clear_refs`), and *growth* that over the size the round started at. ")
                  .Append("OutputCache keeps its entry 1 ms with its locking on, so its waiters get the completed entry. The second ")
                  .Append("coalescing row works 200 ms before its first byte (`?first-byte-ms=200`): Coalesce streams to the followers that ")
                  .Append("joined before the leader's first byte left; those that join later wait for its end, and a body over ")
                  .Append("`MaxBufferedBodyBytes` is then not shared (they run their own). A row of another build is the same app built at ")
                  .Append("that commit (`--before-app`), run the same way.\n\n");
            }

            WriteModeLine(md, result.Mode);
            var table = new MarkdownTable("Variant", "Build", "Clients", ">Count", ">TTFB median / p95 / max ms", ">TTLB median / p95 / max ms",
                ">Executions per round", ">Peak RSS median (max)", ">Growth median", ">Errors");
            foreach (var variant in result.Variants)
            {
                var first = true;
                foreach (var group in new[] { variant.Ran, variant.Shared }.Where(g => g.Clients > 0))
                {
                    table.Row(first ? Named(variant.Variant, variant.Path) : "", first ? variant.Build : "", group.Role, Count(group.Clients),
                        Latencies(group.FirstByte), Latencies(group.LastByte),
                        first ? Executions(variant) : "", first ? $"{MiB(variant.MedianPeakRssBytes)} ({MiB(variant.MaxPeakRssBytes)})" : "",
                        first ? MiB(variant.MedianPeakGrowthBytes) : "", first ? Count(variant.Errors) : "");
                    first = false;
                }

                if (first)
                {
                    table.Row(Named(variant.Variant, variant.Path), variant.Build, "none answered", "0", "", "", Executions(variant), "", "", Count(variant.Errors));
                }
            }

            table.WriteTo(md);
            if (result.Variants.SelectMany(v => v.Rounds).Any(r => !r.PeakReset))
            {
                md.Append("The kernel did not let the peak be reset before every round: a peak there is the process's highest so far.\n\n");
            }
        }
    }

    private static string Latencies(LatencySummary summary) =>
        $"{OneDecimal(summary.MedianMs)} / {OneDecimal(summary.P95Ms)} / {OneDecimal(summary.MaxMs)}";

    private static string Executions(StreamingVariant variant) =>
        variant.MinExecutions == variant.MaxExecutions
            ? Count(variant.MinExecutions)
            : $"{OneDecimal(variant.MedianExecutions)} ({variant.MinExecutions}–{variant.MaxExecutions})";

    private static void WriteScaleOutIntroduction(StringBuilder md, ScaleOutResult result, RunSettings settings)
    {
        md.Append("Three instances of the app on one `redis-server` of the run's own (persistence off; `AddStackExchangeRedisCoalescing`, ")
          .Append("a key prefix of the run's own), three more without Redis, all on this machine with wrk. Every request names one host ")
          .Append(CultureInfo.InvariantCulture, $"(`Host: {ScaleOutScenario.Host}`), as a load balancer in front of the instances would: the host is part of a coalescing key. ")
          .Append("`/scaleout/item/{id}` is memoized with the tag `item:{id}` over a 20 ms backend that counts its executions per id; ")
          .Append("`PUT /scaleout/item/{id}` bumps the item's version in a store the instances share (Redis) and invalidates the tag.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"*Simultaneous miss*: {result.Keys} fresh ids; one wrk per instance, all three started at once (`lua/lockstep.lua`, one ")
          .Append(CultureInfo.InvariantCulture, $"thread, {result.ConnectionsPerInstance} connections), each walking the ids in order so that all its connections ask for an id ")
          .Append("together and move to the next once answered. *Backend executions* are summed over the instances. Goal with Redis: 1 per ")
          .Append("key; without, each instance runs its own (3). *Remote waits*: requests that waited for another instance's execution; ")
          .Append("*second-level hits*: instances that arrived after it had finished. Latencies are the largest of the three wrk runs.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"*Invalidation propagation*: a client (the app's `--probe` mode, its own process) makes {settings.ScaleOutWrites} writes (after 10 not ")
          .Append("measured) on one instance, cycling over 10 ids. Before each it reads the id on all three, so the other two hold the old ")
          .Append("version memoized; then it sends the `PUT` while it polls both others (a ~1 ms pause between polls) until each answers ")
          .Append("the new version. Times run from the moment the `PUT` is sent: its 2xx (read-your-writes), the sending of the first poll ")
          .Append("that got the fresh version, and its answer (which re-renders: 20 ms of backend). *Stale after the 2xx*: polls sent after ")
          .Append("the `PUT`'s 2xx that still answered the old version (goal: 0).\n\n");
        md.Append("*Local hits*: the memoized hit path (`/memo/item`, as in section 3) on one instance of each set, in three adjacent pairs ")
          .Append("(without, with; with, without; without, with), each run warmed up and measured as elsewhere. A local hit never touches ")
          .Append("Redis. The result is the median of the pairs' ratios. Goal: with Redis at least 98% of the requests/s without.\n\n");
    }

    private static double? CpuPerRequest(IReadOnlyList<MeasuredRun> runs, string variant)
    {
        var own = runs.Where(r => r.Variant == variant).ToList();
        var requests = own.Sum(r => r.Wrk.Requests);
        return requests > 0 ? own.Sum(r => r.AppCpuSeconds) * 1e6 / requests : null;
    }

    private static string Logged(LogSummary log)
    {
        var exceptions = log.Exceptions.Count == 0
            ? ""
            : " (" + string.Join(", ", log.Exceptions.Select(e => $"{e.Value} × `{e.Key}`")) + ")";
        return $"the three instances logged {log.Errors} error{(log.Errors == 1 ? "" : "s")}{exceptions} and {log.Warnings} warning{(log.Warnings == 1 ? "" : "s")}";
    }

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);
}
