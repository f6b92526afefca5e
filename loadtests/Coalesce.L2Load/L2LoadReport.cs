using System.Globalization;
using System.Text;

namespace Coalesce.L2Load;

/// <summary>What one round on one topology did.</summary>
/// <param name="Topology">"one node" or "three masters".</param>
/// <param name="Round">1-based.</param>
/// <param name="Elapsed">How long the workers ran.</param>
/// <param name="Gets">Second-level reads made.</param>
/// <param name="Hits">Reads that returned the stored value (every key is stored before the rounds).</param>
/// <param name="Sets">Second-level writes made (each after reading the seq, as a leader does).</param>
/// <param name="Stored">Writes that stored.</param>
/// <param name="RedisCpuSeconds">CPU seconds each Redis node used during the round (INFO cpu after minus before).</param>
/// <param name="ClientCpuSeconds">CPU seconds this process used during the round.</param>
internal sealed record RoundResult(
    string Topology, int Round, TimeSpan Elapsed, long Gets, long Hits, long Sets, long Stored, IReadOnlyList<double> RedisCpuSeconds, double ClientCpuSeconds)
{
    /// <summary>Operations that did what they were asked (a hit, a store), per second; misses and failures don't count.</summary>
    public double OperationsPerSecond => (Hits + Stored) / Elapsed.TotalSeconds;

    /// <summary>Reads that missed plus writes that did not store: each one is a budget overrun, a failure or the breaker.</summary>
    public long Failed => (Gets - Hits) + (Sets - Stored);

    /// <summary>Each node's CPU time per successful operation, in microseconds: what an operation costs that node.</summary>
    public IReadOnlyList<double> RedisMicrosecondsPerOperation =>
        [.. RedisCpuSeconds.Select(s => Hits + Stored == 0 ? 0 : s * 1e6 / (Hits + Stored))];
}

/// <summary>The figures of a run: per round, the median per topology, the ratio three/one, the keys per master.</summary>
internal static class L2LoadReport
{
    public const string One = "one node";
    public const string Three = "three masters";

    public static double Median(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("No values to take the median of.", nameof(values));
        }

        var middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>Median operations per second on three masters over the median on one node.</summary>
    public static double Ratio(IReadOnlyCollection<RoundResult> rounds)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        return MedianOf(rounds, Three) / MedianOf(rounds, One);
    }

    public static double MedianOf(IReadOnlyCollection<RoundResult> rounds, string topology)
    {
        ArgumentNullException.ThrowIfNull(rounds);
        return Median(rounds.Where(r => r.Topology == topology).Select(static r => r.OperationsPerSecond));
    }

    /// <summary>The report in Markdown: the command, a row per round, the medians and ratio, the keys per master.</summary>
    public static string Markdown(L2LoadSettings settings, IReadOnlyCollection<RoundResult> rounds, IReadOnlyList<long> keysOnOneNode, IReadOnlyList<long> keysPerMaster)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(rounds);
        ArgumentNullException.ThrowIfNull(keysOnOneNode);
        ArgumentNullException.ThrowIfNull(keysPerMaster);
        var c = CultureInfo.InvariantCulture;
        var text = new StringBuilder();
        text.Append(c, $"`{settings.CommandLine()}`").AppendLine().AppendLine();
        text.AppendLine("| topology | round | ops/s | gets | sets | failed | Redis CPU per node (cores) | Redis CPU per op per node (µs) | client CPU (cores) |");
        text.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |");
        foreach (var r in rounds)
        {
            var seconds = r.Elapsed.TotalSeconds;
            var redis = string.Join(" / ", r.RedisCpuSeconds.Select(s => (s / seconds).ToString("0.00", c)));
            var perOperation = string.Join(" / ", r.RedisMicrosecondsPerOperation.Select(us => us.ToString("0.0", c)));
            text.Append(c, $"| {r.Topology} | {r.Round} | {r.OperationsPerSecond:N0} | {r.Gets:N0} | {r.Sets:N0} | {r.Failed:N0} | {redis} | {perOperation} | {r.ClientCpuSeconds / seconds:0.00} |").AppendLine();
        }

        text.AppendLine();
        text.Append(c, $"Median ops/s: one node {MedianOf(rounds, One):N0}, three masters {MedianOf(rounds, Three):N0}; ratio three/one {Ratio(rounds):0.00}.").AppendLine();
        text.Append(c, $"Keys (DBSIZE) after the run: one node {string.Join(" / ", keysOnOneNode.Select(k => k.ToString("N0", c)))}; three masters {string.Join(" / ", keysPerMaster.Select(k => k.ToString("N0", c)))}.").AppendLine();
        text.Append(c, $"Machine: {Environment.ProcessorCount} cores shared by this client and every redis-server.").AppendLine();
        return text.ToString();
    }
}
