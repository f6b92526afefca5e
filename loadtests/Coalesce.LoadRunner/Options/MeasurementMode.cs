namespace Coalesce.LoadRunner.Options;

/// <summary>
/// How the app and the load generator share the machine, and so how long a measurement warms up and how many rounds
/// a comparison takes.
/// <list type="bullet">
/// <item><c>both-cores</c>: no pinning, the app and wrk share every core; each variant warms up for a fixed time and a
/// comparison takes a fixed number of alternating rounds.</item>
/// <item><c>one-core</c>: the app pinned to one core and everything else (wrk, the probe, Redis) to another, as an app
/// in a one-CPU container; each variant warms up until its throughput is steady (tiered compilation competes with
/// requests on one core), and a comparison adds rounds until its ratios are resolved to the set width.</item>
/// </list>
/// </summary>
internal sealed record MeasurementMode(string Name, int? AppCpu, int? LoadCpu)
{
    public const string BothCoresName = "both-cores";
    public const string OneCoreName = "one-core";

    public static IReadOnlyList<string> Names { get; } = [BothCoresName, OneCoreName];

    public bool IsOneCore => AppCpu is not null;

    /// <summary>How the report names the mode beside each figure.</summary>
    public string Description => AppCpu is { } app
        ? $"one core: the app pinned to CPU {app}, wrk to CPU {LoadCpu}"
        : "both cores: the app and wrk share the machine's cores";

    public static MeasurementMode BothCores { get; } = new(BothCoresName, null, null);

    public static MeasurementMode OneCore(int appCpu, int loadCpu) => new(OneCoreName, appCpu, loadCpu);
}
