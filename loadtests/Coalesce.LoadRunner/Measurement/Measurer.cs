using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;
using Coalesce.LoadRunner.Wrk;

namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// Measures variants on a running app the same way for every scenario: warm up (a fixed time, or in the one-core mode
/// until throughput is steady), pause, reset the app's counts, run wrk while reading the app's CPU time before and after,
/// read the counts back. <see cref="CompareAsync"/> measures several variants in alternating rounds.
/// </summary>
internal sealed class Measurer(RunContext run, MeasurementMode mode)
{
    private readonly WrkRunner _wrk = new(run, mode);

    public MeasurementMode Mode => mode;

    public WrkRunner Wrk => _wrk;

    /// <summary>Warms a variant up, pauses, and measures it once (<c>--duration</c> seconds).</summary>
    public async Task<(MeasuredRun Run, WarmUp WarmUp)> MeasureAsync(
        LoadTestApp app, string scenario, Variant variant, string script, int connections, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(variant);
        run.Log($"{mode.Name} / {scenario} / {variant.Name}: {variant.Path}, {connections} connections");
        var warmUp = await WarmUpAsync(app, variant, script, connections, cancellationToken);
        await PauseAsync(cancellationToken);
        var measured = await MeasureOnceAsync(app, variant, script, connections, round: 0, $"{scenario}.{variant.Name}.txt", cancellationToken);
        return (measured, warmUp);
    }

    /// <summary>
    /// Warms every variant up, then measures them in rounds, in turn (the order reversed every other round): the
    /// least number of rounds is <c>--rounds</c>; in the one-core mode rounds are added, up to <c>--max-rounds</c>,
    /// until every variant's ratio to the first (the baseline) is resolved to <c>--resolution</c>.
    /// </summary>
    public async Task<Comparison> CompareAsync(
        LoadTestApp app, string scenario, string script, int connections, IReadOnlyList<Variant> variants, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(variants);
        var settings = run.Settings;
        var warmUps = new List<WarmUp>();
        foreach (var variant in variants)
        {
            run.Log($"{mode.Name} / {scenario} / {variant.Name}: {variant.Path}, {connections} connections, warming up");
            warmUps.Add(await WarmUpAsync(app, variant, script, connections, cancellationToken));
        }

        await PauseAsync(cancellationToken);
        var runs = new List<MeasuredRun>();
        var sofar = Comparison.Summarize(variants, runs, warmUps, settings.Resolution);
        while (Comparison.NeedsAnotherRound(sofar, settings.Rounds, settings.MaxRounds, adaptive: mode.IsOneCore))
        {
            var round = sofar.Rounds + 1;
            var seconds = mode.IsOneCore ? settings.RoundSeconds : settings.DurationSeconds;
            foreach (var index in RoundOrder.For(round, variants.Count))
            {
                var variant = variants[index];
                run.Log($"{mode.Name} / {scenario} / {variant.Name}: round {round}, {seconds} s");
                runs.Add(await MeasureOnceAsync(app, variant, script, connections, round, $"{scenario}.{variant.Name}.{round}.txt", cancellationToken, seconds));
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }

            sofar = Comparison.Summarize(variants, runs, warmUps, settings.Resolution);
        }

        return sofar;
    }

    /// <summary>
    /// Resets the counts, runs wrk for <paramref name="seconds"/> (<c>--duration</c> unless given), and reads the counts
    /// and the app's CPU time.
    /// </summary>
    public async Task<MeasuredRun> MeasureOnceAsync(
        LoadTestApp app, Variant variant, string script, int connections, int round, string rawName, CancellationToken cancellationToken, int? seconds = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(variant);
        await app.ResetCountsAsync(cancellationToken);
        var request = new WrkRequest(app.BaseUrl + variant.Path, script, connections, seconds ?? run.Settings.DurationSeconds) { Latency = true };
        var cpuBefore = app.CpuTime();
        var result = await _wrk.RunAsync(request, run.RawPath(mode, rawName), cancellationToken);
        var cpuAfter = app.CpuTime();
        var counts = await app.ReadCountsAsync(variant.Counter, cancellationToken);
        return new MeasuredRun(variant.Name, variant.Path, connections, round, result, counts, (cpuAfter - cpuBefore).TotalSeconds);
    }

    /// <summary>
    /// Both cores: <c>--warmup</c> seconds of the variant's own load. One core: windows of <c>--steady-window</c>
    /// seconds until the last three are within <c>--steady-tolerance</c> of one another, for at most
    /// <c>--steady-max</c> seconds.
    /// </summary>
    public async Task<WarmUp> WarmUpAsync(LoadTestApp app, Variant variant, string script, int connections, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(variant);
        var settings = run.Settings;
        if (!mode.IsOneCore)
        {
            var result = await _wrk.RunAsync(new WrkRequest(app.BaseUrl + variant.Path, script, connections, settings.WarmupSeconds), null, cancellationToken);
            return new WarmUp(variant.Name, settings.WarmupSeconds, null, [result.RequestsPerSecond]);
        }

        var steady = new SteadyState(settings.SteadyTolerance);
        var seconds = 0;
        while (seconds < settings.SteadyMaxSeconds)
        {
            var window = new WrkRequest(app.BaseUrl + variant.Path, script, connections, settings.SteadyWindowSeconds);
            var result = await _wrk.RunAsync(window, null, cancellationToken);
            seconds += settings.SteadyWindowSeconds;
            if (steady.Add(result.RequestsPerSecond))
            {
                break;
            }
        }

        if (!steady.IsSteady)
        {
            run.Log($"{mode.Name} / {variant.Name}: throughput not steady after {seconds} s of warm-up ({string.Join(", ", steady.Rates.Select(r => r.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))} requests/s); measuring anyway");
        }

        return new WarmUp(variant.Name, seconds, steady.IsSteady, steady.Rates);
    }

    /// <summary>
    /// The pause between a warm-up and a measurement. wrk ends a warm-up by closing connections mid-request, and a key
    /// whose leader did not finish passes straight through for <c>PassThroughDuration</c> (2 s): the pause keeps that
    /// leftover out of the measurement.
    /// </summary>
    public Task PauseAsync(CancellationToken cancellationToken) => Task.Delay(TimeSpan.FromSeconds(run.Settings.SettleSeconds), cancellationToken);
}
