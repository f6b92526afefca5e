using System.Globalization;
using System.Text;
using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Wrk;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 7. Outage: Zipf ids on a 20 ms backend that fails for <c>--outage</c> seconds in the middle of the run, memoized for
/// 1 s without stale windows (<c>plain</c>) and with <c>StaleWhileRevalidate(2 s)</c> and <c>StaleIfError(5 min)</c>
/// (<c>stale</c>). Goal with the windows: about no errors and a flat p99 through the outage. Each variant first asks
/// for every id once, so each has a memoized response (and a stale copy) before the outage; on any failure the backend
/// is switched up again.
/// </summary>
internal sealed class OutageScenario : IScenario
{
    /// <summary>The ids <c>lua/zipf.lua</c> draws from; the warm-up asks for each.</summary>
    public const int ZipfKeys = 10_000;

    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("plain", "outage.plain", "/outage/plain"),
        new("stale", "outage.stale", "/outage/stale"),
    ];

    public string Name => "outage";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var runs = new List<OutageRun>();
        foreach (var variant in Variants)
        {
            runs.Add(await MeasureAsync(context, variant, cancellationToken));
        }

        var settings = context.Settings;
        return new OutageResult(context.Mode, settings.OutageBeforeSeconds, settings.OutageSeconds, settings.OutageAfterSeconds, runs);
    }

    private static async Task<OutageRun> MeasureAsync(ScenarioContext context, Variant variant, CancellationToken cancellationToken)
    {
        var app = context.App;
        var settings = context.Settings;
        var connections = settings.ZipfConnections;
        var seconds = settings.OutageBeforeSeconds + settings.OutageSeconds + settings.OutageAfterSeconds;
        context.Run.Log($"{context.Mode.Name} / outage / {variant.Name}: filling ids 1-{ZipfKeys}, then {seconds} s measured, the backend down from {settings.OutageBeforeSeconds} s for {settings.OutageSeconds} s");

        await app.BackendUpAsync(cancellationToken);
        // Only this variant's responses in the cache: its 10,000 ids fill the default MemoMaxEntries.
        await app.ClearCachesAsync(cancellationToken);
        var memoized = await FillAsync(context, variant, cancellationToken);
        await context.Measurer.PauseAsync(cancellationToken);
        await app.ResetCountsAsync(cancellationToken);

        var logBefore = new FileInfo(app.LogPath).Length;
        var request = new WrkRequest(app.BaseUrl + variant.Path, "zipf.lua", connections, seconds) { Latency = true };
        var cpuBefore = app.CpuTime();
        var wrk = context.Measurer.Wrk.Start(request);
        WrkResult result;
        await using (wrk)
        {
            var down = false;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(settings.OutageBeforeSeconds), cancellationToken);
                down = true;
                await app.BackendDownAsync(cancellationToken);
                context.Run.Log($"{context.Mode.Name} / outage / {variant.Name}: backend down");
                await Task.Delay(TimeSpan.FromSeconds(settings.OutageSeconds), cancellationToken);
            }
            finally
            {
                if (down)
                {
                    await app.BackendUpAsync(CancellationToken.None);
                    context.Run.Log($"{context.Mode.Name} / outage / {variant.Name}: backend up");
                }
            }

            result = await WrkRunner.FinishAsync(wrk, request, context.Run.RawPath(context.Mode, $"outage.{variant.Name}.txt"), cancellationToken);
        }

        var cpuAfter = app.CpuTime();
        var counts = await app.ReadCountsAsync(variant.Counter, cancellationToken);

        // The console logger writes in the background: give it a moment before reading what it logged meanwhile.
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        var logged = await ReadLogSinceAsync(app.LogPath, logBefore, cancellationToken);
        var run = new MeasuredRun(variant.Name, variant.Path, connections, 0, result, counts, (cpuAfter - cpuBefore).TotalSeconds);
        return new OutageRun(run, memoized, LogSummary.Of(logged.Text).WarningsAndErrors, logged.Bytes);
    }

    /// <summary>
    /// Asks for every id once (<c>lua/fill.lua</c>, <c>FORM=path</c>). In <c>stale</c> an id the fill missed has no
    /// stale copy and fails in the outage, so the cache must hold every id: up to two more passes on a slow machine.
    /// Returns the ids memoized.
    /// </summary>
    private static async Task<long> FillAsync(ScenarioContext context, Variant variant, CancellationToken cancellationToken)
    {
        var app = context.App;
        var settings = context.Settings;
        var fill = new WrkRequest(app.BaseUrl + variant.Path, "fill.lua", settings.ZipfConnections, Math.Max(settings.WarmupSeconds, 4))
        {
            Environment = new Dictionary<string, string>
            {
                ["FORM"] = "path",
                ["KEYS"] = ZipfKeys.ToString(CultureInfo.InvariantCulture),
                ["THREADS"] = Math.Min(settings.Threads, settings.ZipfConnections).ToString(CultureInfo.InvariantCulture),
            },
        };
        await context.Measurer.Wrk.RunAsync(fill, null, cancellationToken);
        var entries = await app.ReadHeapFigureAsync("memo_entries", cancellationToken);
        for (var pass = 1; variant.Name == "stale" && entries < ZipfKeys && pass <= 2; pass++)
        {
            context.Run.Log($"{context.Mode.Name} / outage / {variant.Name}: {entries} of {ZipfKeys} ids memoized after the warm-up; filling again ({pass})");
            await context.Measurer.Wrk.RunAsync(fill, null, cancellationToken);
            entries = await app.ReadHeapFigureAsync("memo_entries", cancellationToken);
        }

        if (variant.Name == "stale" && entries < ZipfKeys)
        {
            context.Run.Log($"warning: only {entries} of {ZipfKeys} ids memoized after the warm-up of {variant.Path}; the others have no stale copy and fail in the outage.");
        }

        return entries;
    }

    private static async Task<(string Text, long Bytes)> ReadLogSinceAsync(string path, long offset, CancellationToken cancellationToken)
    {
        await using var log = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        log.Seek(offset, SeekOrigin.Begin);
        using var reader = new StreamReader(log, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(cancellationToken);
        return (text, log.Length - offset);
    }
}

/// <summary>
/// One outage run: wrk's figures over the whole run and the app's counts (answers while down, stale answers,
/// refreshes, backend calls while down), the ids memoized before it, and the warnings and errors logged meanwhile.
/// </summary>
internal sealed record OutageRun(MeasuredRun Run, long MemoizedBefore, long WarningsAndErrorsLogged, long BytesLogged);

/// <summary>Both outage runs, and the seconds before, during and after the outage.</summary>
internal sealed record OutageResult(MeasurementMode Mode, int BeforeSeconds, int OutageSeconds, int AfterSeconds, IReadOnlyList<OutageRun> Runs)
    : ScenarioResult(Mode);
