using Coalesce.LoadRunner.Wrk;

namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// One measured wrk run of a variant: what wrk saw, what the app counted, and the app's CPU time over the run.
/// <see cref="Round"/> is its round in an alternating comparison, 0 for a single run.
/// </summary>
internal sealed record MeasuredRun(string Variant, string Path, int Connections, int Round, WrkResult Wrk, VariantCounts Counts, double AppCpuSeconds)
{
    public double RequestsPerSecond => Wrk.RequestsPerSecond;

    public double ExecutionsPerSecond => Wrk.DurationSeconds > 0 ? Counts.Executions / Wrk.DurationSeconds : 0;

    /// <summary>The app's user + system CPU per request in microseconds, or null without requests.</summary>
    public double? CpuPerRequestUs => Wrk.Requests > 0 ? AppCpuSeconds * 1e6 / Wrk.Requests : null;

    public double? ExecutionsPerRequest => Wrk.Requests > 0 ? (double)Counts.Executions / Wrk.Requests : null;
}
