namespace Coalesce.LoadRunner.Wrk;

/// <summary>
/// What one wrk run reports through <c>lua/report.lua</c>'s <c>WRK_RESULT</c> line. Latencies are in microseconds;
/// <see cref="StatusErrors"/> are responses with a status of 400 or more.
/// </summary>
internal sealed record WrkResult(
    long Requests,
    double DurationSeconds,
    long Bytes,
    double P50Us,
    double P90Us,
    double P99Us,
    double MaxUs,
    long StatusErrors,
    long ConnectErrors,
    long ReadErrors,
    long WriteErrors,
    long Timeouts)
{
    public const string Tag = "WRK_RESULT";

    public double RequestsPerSecond => DurationSeconds > 0 ? Requests / DurationSeconds : 0;

    /// <summary>Connect, read and write errors and timeouts: what went wrong below HTTP.</summary>
    public long SocketErrors => ConnectErrors + ReadErrors + WriteErrors + Timeouts;

    /// <summary>Errors as wrk counts them: statuses of 400 or more, socket errors and timeouts.</summary>
    public long Errors => StatusErrors + SocketErrors;

    /// <summary>Reads the <c>WRK_RESULT</c> line out of wrk's whole output.</summary>
    public static WrkResult Parse(string output)
    {
        var line = KeyValueLine.Find(output, Tag) ?? throw new FormatException("wrk printed no WRK_RESULT line.");
        return new WrkResult(
            line.Long("requests"),
            line.Long("duration_us") / 1e6,
            line.Long("bytes"),
            line.Double("p50_us"),
            line.Double("p90_us"),
            line.Double("p99_us"),
            line.Double("max_us"),
            line.Long("status_errors"),
            line.Long("connect_errors"),
            line.Long("read_errors"),
            line.Long("write_errors"),
            line.Long("timeouts"));
    }

    /// <summary>
    /// Several wrk runs at once (one per instance) as one: requests and errors summed, the run's length and the
    /// latencies the largest (the worst instance's).
    /// </summary>
    public static WrkResult Combine(IReadOnlyCollection<WrkResult> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        if (runs.Count == 0)
        {
            throw new ArgumentException("There is no run to combine.", nameof(runs));
        }

        return new WrkResult(
            runs.Sum(r => r.Requests),
            runs.Max(r => r.DurationSeconds),
            runs.Sum(r => r.Bytes),
            runs.Max(r => r.P50Us),
            runs.Max(r => r.P90Us),
            runs.Max(r => r.P99Us),
            runs.Max(r => r.MaxUs),
            runs.Sum(r => r.StatusErrors),
            runs.Sum(r => r.ConnectErrors),
            runs.Sum(r => r.ReadErrors),
            runs.Sum(r => r.WriteErrors),
            runs.Sum(r => r.Timeouts));
    }
}
