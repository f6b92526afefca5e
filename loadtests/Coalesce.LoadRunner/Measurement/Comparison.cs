namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// Variants measured in alternating rounds against the first, the baseline: every run, and per variant the medians
/// over the rounds with the median of the rounds' ratios to the baseline of the same round.
/// <see cref="Resolved"/> says whether every ratio's 95% interval is no wider than the resolution asked for.
/// </summary>
internal sealed record Comparison(
    string Baseline,
    int Rounds,
    double Resolution,
    bool Resolved,
    IReadOnlyList<VariantSummary> Variants,
    IReadOnlyList<WarmUp> WarmUps,
    IReadOnlyList<MeasuredRun> Runs)
{
    public VariantSummary this[string variant] => Variants.First(v => v.Variant == variant);

    /// <summary>
    /// <paramref name="variant"/>'s requests per second over <paramref name="reference"/>'s, round by round (a second
    /// reference beside the baseline, such as precomputed bytes for a memoized hit).
    /// </summary>
    public RatioSummary? Between(string variant, string reference) =>
        RatioSummary.Of([.. Runs
            .Where(r => r.Variant == variant)
            .Select(r => (Run: r, Reference: Runs.FirstOrDefault(o => o.Variant == reference && o.Round == r.Round)))
            .Where(p => p.Reference is { RequestsPerSecond: > 0 })
            .Select(p => p.Run.RequestsPerSecond / p.Reference!.RequestsPerSecond)]);

    /// <summary>Summarizes <paramref name="runs"/> (every variant in every round; the first variant is the baseline).</summary>
    public static Comparison Summarize(
        IReadOnlyList<Variant> variants, IReadOnlyList<MeasuredRun> runs, IReadOnlyList<WarmUp> warmUps, double resolution)
    {
        ArgumentNullException.ThrowIfNull(variants);
        ArgumentNullException.ThrowIfNull(runs);
        var baseline = variants[0].Name;
        var summaries = variants.Where(v => runs.Any(r => r.Variant == v.Name)).Select(v => VariantSummary.Of(v.Name, runs, baseline)).ToList();
        var rounds = runs.Count == 0 ? 0 : runs.Max(r => r.Round);
        var resolved = summaries.Count == variants.Count
            && summaries.Where(s => s.Variant != baseline).All(s => s.VsBaseline?.Resolves(resolution) == true);
        return new Comparison(baseline, rounds, resolution, resolved, summaries, warmUps, runs);
    }

    /// <summary>Whether another round is needed: fewer than the least, or a ratio not yet resolved and rounds left.</summary>
    public static bool NeedsAnotherRound(Comparison sofar, int leastRounds, int mostRounds, bool adaptive)
    {
        ArgumentNullException.ThrowIfNull(sofar);
        return sofar.Rounds < leastRounds || (adaptive && !sofar.Resolved && sofar.Rounds < mostRounds);
    }
}

/// <summary>
/// One variant of a <see cref="Comparison"/>: medians over its rounds of requests per second, p50 and p99, its CPU per
/// request over all rounds (total CPU over total requests), errors and executions summed, and its ratios to the
/// baseline (requests per second, and CPU per request) round by round.
/// </summary>
internal sealed record VariantSummary(
    string Variant,
    string Path,
    int Connections,
    int Rounds,
    double RequestsPerSecond,
    double P50Us,
    double P99Us,
    double? CpuPerRequestUs,
    long Errors,
    long Executions,
    RatioSummary? VsBaseline,
    RatioSummary? CpuVsBaseline)
{
    public static VariantSummary Of(string variant, IReadOnlyList<MeasuredRun> runs, string baseline)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var own = runs.Where(r => r.Variant == variant).ToList();
        if (own.Count == 0)
        {
            throw new ArgumentException($"There is no run of {variant}.", nameof(runs));
        }

        var requests = own.Sum(r => r.Wrk.Requests);
        var rateRatios = new List<double>();
        var cpuRatios = new List<double>();
        if (variant != baseline)
        {
            foreach (var run in own)
            {
                if (runs.FirstOrDefault(r => r.Variant == baseline && r.Round == run.Round) is not { } paired)
                {
                    continue;
                }

                if (Statistics.Ratio(run.RequestsPerSecond, paired.RequestsPerSecond) is { } rate)
                {
                    rateRatios.Add(rate);
                }

                if (run.CpuPerRequestUs is { } cpu && paired.CpuPerRequestUs is { } baselineCpu && Statistics.Ratio(cpu, baselineCpu) is { } cpuRatio)
                {
                    cpuRatios.Add(cpuRatio);
                }
            }
        }

        return new VariantSummary(
            variant,
            own[0].Path,
            own[0].Connections,
            own.Count,
            Statistics.Median(own.Select(r => r.RequestsPerSecond)),
            Statistics.Median(own.Select(r => r.Wrk.P50Us)),
            Statistics.Median(own.Select(r => r.Wrk.P99Us)),
            requests > 0 ? own.Sum(r => r.AppCpuSeconds) * 1e6 / requests : null,
            own.Sum(r => r.Wrk.Errors),
            own.Sum(r => r.Counts.Executions),
            RatioSummary.Of(rateRatios),
            RatioSummary.Of(cpuRatios));
    }
}
