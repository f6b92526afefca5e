using System.Globalization;
using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;
using Coalesce.LoadRunner.Wrk;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 8. Across instances: a <c>redis-server</c> of the run's own, three instances on it (<c>r1</c>–<c>r3</c>) and three
/// without (<c>l1</c>–<c>l3</c>), every request naming one host as a load balancer in front of them would. After every
/// instance has warmed up: a simultaneous miss on each set (backend executions per key: goal 1 with Redis), the
/// invalidation probe (propagation times, stale reads after a write's 2xx: goal 0), and local hits with Redis configured
/// against without in three adjacent pairs (goal: at least 98%). In the one-core mode the instances share the app's
/// core and Redis, wrk and the probe the other.
/// </summary>
internal sealed class ScaleOutScenario : IScenario
{
    public const string Host = "scaleout.test";
    public const double HitGoal = 0.98;
    private const int InvalidationIds = 10;
    private const int WarmUpFirstId = 900_001;

    // The first three on Redis, the last three without.
    private static readonly string[] InstanceNames = ["r1", "r2", "r3", "l1", "l2", "l3"];
    private static readonly string[] HitOrder = ["local", "redis", "redis", "local", "local", "redis"];

    public string Name => "scaleout";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var run = context.Run;
        var mode = context.Mode;
        var settings = context.Settings;
        var prefix = string.Create(CultureInfo.InvariantCulture, $"loadtest-{Environment.ProcessId}-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}");

        await using var redis = await RedisServer.StartAsync(run, mode.LoadCpu, cancellationToken);
        string[] redisArguments = ["--redis", redis.Endpoint, "--redis-prefix", prefix];
        var starting = InstanceNames
            .Select(name => LoadTestApp.StartAsync(run, $"{mode.Name}-scaleout-{name}", name[0] == 'r' ? redisArguments : [], mode.AppCpu, cancellationToken))
            .ToList();
        var instances = new Instances(await Task.WhenAll(starting));
        try
        {
            // Every instance runs the miss path (so leads a few flights of its own) before anything is measured: no cold
            // first call (JIT, a connection) is measured. Ids apart from the measured ones.
            run.Log($"{mode.Name} / scaleout: warming up every instance ({settings.WarmupSeconds} s of misses in step)");
            await LockstepAsync(context, instances.All, WarmUpFirstId, settings.WarmupSeconds + 2, "warmup", cancellationToken);
            await context.Measurer.PauseAsync(cancellationToken);

            var nextId = 1;
            var missLocal = await MeasureMissAsync(context, "miss-local", instances.Local, nextId, cancellationToken);
            nextId += settings.ScaleOutKeys;
            await context.Measurer.PauseAsync(cancellationToken);
            var missRedis = await MeasureMissAsync(context, "miss-redis", instances.Redis, nextId, cancellationToken);
            nextId += settings.ScaleOutKeys;
            await context.Measurer.PauseAsync(cancellationToken);
            var invalidation = await MeasureInvalidationAsync(context, instances.Redis, nextId, cancellationToken);
            await context.Measurer.PauseAsync(cancellationToken);
            var hits = await MeasureHitsAsync(context, instances, cancellationToken);

            var logs = await instances.ReadLogsAsync(run, mode);
            File.Copy(redis.Process.LogPath!, run.RawPath(mode, "scaleout.redis.log"), overwrite: true);
            return new ScaleOutResult(
                mode, settings.ScaleOutKeys, settings.ScaleOutConnections, missLocal, missRedis, invalidation, hits,
                RatioSummary.Of([.. hits.Select(h => h.Ratio).OfType<double>()]), HitGoal, logs.WithRedis, logs.WithoutRedis);
        }
        finally
        {
            await instances.DisposeAsync();
        }
    }

    /// <summary>
    /// <c>--scaleout-keys</c> fresh ids, each asked for by <c>--scaleout-connections</c> connections on every given
    /// instance at once; the backend executions per id summed over the instances.
    /// </summary>
    private static async Task<MissRun> MeasureMissAsync(
        ScenarioContext context, string variant, IReadOnlyList<LoadTestApp> instances, int firstId, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        context.Run.Log($"{context.Mode.Name} / scaleout / {variant}: ids {firstId}-{firstId + settings.ScaleOutKeys - 1}, {settings.ScaleOutConnections} connections on each of {string.Join(", ", instances.Select(i => i.Name))} at once");
        var before = await ReadCountsAsync(instances, cancellationToken);
        var seconds = settings.ScaleOutKeys / 10 + 3;
        var (result, complete) = await LockstepAsync(context, instances, firstId, seconds, variant, cancellationToken);
        var after = await ReadCountsAsync(instances, cancellationToken, context.Run.RawPath(context.Mode, $"scaleout.{variant}.counts.txt"));
        var grown = after.Since(before);
        var executions = ExecutionsPerKey.Of(grown, firstId, settings.ScaleOutKeys);
        if (!complete)
        {
            context.Run.Log($"warning: a wrk of scaleout / {variant} did not get every answer within {seconds} s; the figures cover what it got.");
        }

        return new MissRun(variant, instances.Count, settings.ScaleOutConnections, settings.ScaleOutKeys, result, executions,
            grown.RedisFigure("remote_waits"), grown.RedisFigure("leases_won"), grown.RedisFigure("l2_hits"), grown.RedisFigure("fills_received"),
            grown.RedisFigure("takeovers"), grown.RedisFigure("passes"), grown.RedisFigure("errors"), complete);
    }

    /// <summary>
    /// <c>lua/lockstep.lua</c> against every given instance at once, one wrk each (one thread): all its connections ask
    /// for an id together and move to the next together. Returns the runs combined, and whether every wrk got every answer.
    /// </summary>
    private static async Task<(WrkResult Result, bool Complete)> LockstepAsync(
        ScenarioContext context, IReadOnlyList<LoadTestApp> instances, int firstId, int seconds, string name, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var requests = instances.Select(instance => new WrkRequest(instance.BaseUrl + "/scaleout/item/", "lockstep.lua", settings.ScaleOutConnections, seconds)
        {
            Threads = 1,
            Latency = true,
            Headers = [$"Host: {Host}"],
            Environment = new Dictionary<string, string>
            {
                ["FIRST_ID"] = firstId.ToString(CultureInfo.InvariantCulture),
                ["KEYS"] = settings.ScaleOutKeys.ToString(CultureInfo.InvariantCulture),
                ["CONNECTIONS"] = settings.ScaleOutConnections.ToString(CultureInfo.InvariantCulture),
            },
        }).ToList();
        var started = requests.Select(context.Measurer.Wrk.Start).ToList();
        var results = new List<WrkResult>();
        var complete = true;
        for (var i = 0; i < started.Count; i++)
        {
            await using var wrk = started[i];
            var rawPath = context.Run.RawPath(context.Mode, $"scaleout.{name}.{instances[i].Name}.txt");
            results.Add(await WrkRunner.FinishAsync(wrk, requests[i], rawPath, cancellationToken));
            var lockstep = KeyValueLine.Find(wrk.Output, "LOCKSTEP");
            complete &= lockstep is not null && lockstep.Long("answered") >= lockstep.Long("needed");
        }

        return (WrkResult.Combine(results), complete);
    }

    /// <summary>
    /// The app's <c>--probe</c> mode, a client in a process of its own: <c>--scaleout-writes</c> writes on the first
    /// instance while the others poll for the new version.
    /// </summary>
    private static async Task<InvalidationRun> MeasureInvalidationAsync(
        ScenarioContext context, IReadOnlyList<LoadTestApp> instances, int firstId, CancellationToken cancellationToken)
    {
        var run = context.Run;
        var writes = context.Settings.ScaleOutWrites;
        run.Log($"{context.Mode.Name} / scaleout / invalidation: {writes} writes on {instances[0].Name} (after 10 not measured), the others polling, ids {firstId}-{firstId + InvalidationIds - 1}");
        var before = await ReadCountsAsync(instances, cancellationToken);
        var probe = run.Processes.Start("invalidation probe", "dotnet",
            [
                run.Layout.AppAssembly, "--probe", string.Join(',', instances.Select(i => i.BaseUrl)), "--host", Host,
                "--writes", writes.ToString(CultureInfo.InvariantCulture), "--warmup-writes", "10",
                "--first-id", firstId.ToString(CultureInfo.InvariantCulture), "--ids", InvalidationIds.ToString(CultureInfo.InvariantCulture),
            ],
            new ChildProcessOptions { Cpu = context.Mode.LoadCpu });
        string output;
        await using (probe)
        {
            var exitCode = await probe.WaitForExitAsync(TimeSpan.FromSeconds(writes * 12 + 120), cancellationToken);
            output = probe.Output;
            await File.WriteAllTextAsync(run.RawPath(context.Mode, "scaleout.invalidation.txt"), output, CancellationToken.None);
            if (exitCode != 0)
            {
                throw new RunnerException($"the invalidation probe failed (exit code {exitCode}): {output.Trim()}");
            }
        }

        var line = KeyValueLine.Find(output, "PROBE_RESULT") ?? throw new RunnerException($"the invalidation probe printed no result: {output.Trim()}");
        var grown = (await ReadCountsAsync(instances, cancellationToken)).Since(before);
        var result = InvalidationRun.From(line, grown.Executions.Where(e => e.Key >= firstId && e.Key < firstId + InvalidationIds).Sum(e => e.Value), grown);
        run.Log($"{context.Mode.Name} / scaleout / invalidation: fresh answer p50 {result.FreshAnswerP50Us / 1000:0.00} ms, {result.StaleAfterAck} stale after the 2xx");
        return result;
    }

    /// <summary>
    /// The memoized hit path on <c>l1</c> and <c>r1</c> in three adjacent pairs (without, with; with, without; without,
    /// with), each run warmed up and measured as in the other scenarios.
    /// </summary>
    private static async Task<IReadOnlyList<HitPair>> MeasureHitsAsync(ScenarioContext context, Instances instances, CancellationToken cancellationToken)
    {
        var runs = new List<MeasuredRun>();
        for (var i = 0; i < HitOrder.Length; i++)
        {
            var withRedis = HitOrder[i] == "redis";
            var app = withRedis ? instances.Redis[0] : instances.Local[0];
            var variant = new Variant(withRedis ? "with Redis" : "without Redis", "item.memo", "/memo/item");
            var (measured, _) = await context.Measurer.MeasureAsync(app, "scaleout", variant with { Name = $"hit-{HitOrder[i]}-{i + 1}" }, "fixed.lua", context.Settings.Connections, cancellationToken);
            runs.Add(measured with { Variant = variant.Name, Round = i + 1 });
        }

        return [.. runs.Chunk(2).Select((pair, index) => HitPair.Of(index + 1, pair[0], pair[1]))];
    }

    /// <summary>
    /// Every instance's counts, summed; with <paramref name="rawPath"/>, each instance's as it answered them, one after
    /// the other, for a closer look.
    /// </summary>
    private static async Task<ScaleOutCounts> ReadCountsAsync(IEnumerable<LoadTestApp> instances, CancellationToken cancellationToken, string? rawPath = null)
    {
        var counts = new List<ScaleOutCounts>();
        var raw = new System.Text.StringBuilder();
        foreach (var instance in instances)
        {
            var text = await instance.ReadScaleOutCountsTextAsync(cancellationToken);
            raw.Append(CultureInfo.InvariantCulture, $"instance {instance.Name}\n").Append(text);
            counts.Add(ScaleOutCounts.Parse(text));
        }

        if (rawPath is not null)
        {
            await File.WriteAllTextAsync(rawPath, raw.ToString(), CancellationToken.None);
        }

        return ScaleOutCounts.Sum(counts);
    }

    /// <summary>The six instances: the first three on Redis, the last three without.</summary>
    private sealed class Instances(IReadOnlyList<LoadTestApp> all) : IAsyncDisposable
    {
        public IReadOnlyList<LoadTestApp> All { get; } = all;

        public IReadOnlyList<LoadTestApp> Redis => [.. All.Take(3)];

        public IReadOnlyList<LoadTestApp> Local => [.. All.Skip(3)];

        /// <summary>Copies each instance's log to the raw folder and sums what each set logged.</summary>
        public async Task<(LogSummary WithRedis, LogSummary WithoutRedis)> ReadLogsAsync(RunContext run, MeasurementMode mode)
        {
            var summaries = new List<LogSummary>();
            foreach (var instance in All)
            {
                File.Copy(instance.LogPath, run.RawPath(mode, $"{instance.Name["{mode.Name}-".Length..]}.log"), overwrite: true);
                summaries.Add(LogSummary.Of(await File.ReadAllTextAsync(instance.LogPath)));
            }

            return (LogSummary.Sum(summaries.Take(3)), LogSummary.Sum(summaries.Skip(3)));
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var instance in All)
            {
                await instance.DisposeAsync();
            }
        }
    }
}

/// <summary>Backend executions over a range of ids: in all, ids that ran, the most for one id, ids that ran more than once.</summary>
internal sealed record ExecutionsPerKey(long Total, int KeysRun, long MaxPerKey, int KeysRunMoreThanOnce)
{
    public static ExecutionsPerKey Of(ScaleOutCounts grown, int firstId, int keys)
    {
        ArgumentNullException.ThrowIfNull(grown);
        var inRange = grown.Executions.Where(e => e.Key >= firstId && e.Key < firstId + keys && e.Value > 0).Select(e => e.Value).ToList();
        return new ExecutionsPerKey(inRange.Sum(), inRange.Count, inRange.Count > 0 ? inRange.Max() : 0, inRange.Count(v => v > 1));
    }
}

/// <summary>
/// A simultaneous miss over one set of instances: the wrk runs combined (requests and errors summed, latencies the
/// worst instance's), backend executions per key, and the Redis level's figures that grew.
/// </summary>
internal sealed record MissRun(
    string Variant,
    int Instances,
    int ConnectionsPerInstance,
    int Keys,
    WrkResult Wrk,
    ExecutionsPerKey Executions,
    long RemoteWaits,
    long LeasesWon,
    long SecondLevelHits,
    long FillsReceived,
    long Takeovers,
    long Passes,
    long RedisErrors,
    bool EveryAnswerReceived)
{
    public double ExecutionsPerKeyMean => Keys > 0 ? (double)Executions.Total / Keys : 0;

    /// <summary>With Redis: every key run exactly once across the instances.</summary>
    public bool OnePerKey => Executions.Total == Keys && Executions.KeysRun == Keys;
}

/// <summary>What the invalidation probe measured (times from the moment each <c>PUT</c> was sent), and the Redis figures that grew.</summary>
internal sealed record InvalidationRun(
    long Writes,
    long Samples,
    double FreshAnswerP50Us,
    double FreshAnswerP90Us,
    double FreshAnswerP99Us,
    double FreshAnswerMaxUs,
    double FreshPollSentP50Us,
    double FreshPollSentP99Us,
    double PutAckP50Us,
    double PutAckP99Us,
    long StaleAfterAck,
    long StaleBeforeWrite,
    long ReaderTimeouts,
    long Errors,
    long Polls,
    long Executions,
    long InvalidationsPublished,
    long InvalidationsApplied,
    long AckTimeouts,
    long RedisErrors)
{
    public static InvalidationRun From(KeyValueLine probe, long executions, ScaleOutCounts grown)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(grown);
        return new InvalidationRun(
            probe.Long("writes"), probe.Long("samples"), probe.Double("p50_us"), probe.Double("p90_us"), probe.Double("p99_us"),
            probe.Double("max_us"), probe.Double("sent_p50_us"), probe.Double("sent_p99_us"), probe.Double("ack_p50_us"),
            probe.Double("ack_p99_us"), probe.Long("stale_after_ack"), probe.Long("stale_before"), probe.Long("timeouts"),
            probe.Long("errors"), probe.Long("polls"), executions, grown.RedisFigure("invalidations_published"),
            grown.RedisFigure("invalidations_received"), grown.RedisFigure("ack_timeouts"), grown.RedisFigure("errors"));
    }
}

/// <summary>Two adjacent hit-path runs, one without Redis and one with it (in either order), and their ratio.</summary>
internal sealed record HitPair(int Pair, MeasuredRun First, MeasuredRun Second, double? Ratio)
{
    public static HitPair Of(int pair, MeasuredRun first, MeasuredRun second)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        var (with, without) = first.Variant == "with Redis" ? (first, second) : (second, first);
        return new HitPair(pair, first, second, Statistics.Ratio(with.RequestsPerSecond, without.RequestsPerSecond));
    }
}

/// <summary>The whole scale-out scenario: both misses, the invalidation probe, the hit pairs and what the instances logged.</summary>
internal sealed record ScaleOutResult(
    MeasurementMode Mode,
    int Keys,
    int ConnectionsPerInstance,
    MissRun MissLocal,
    MissRun MissRedis,
    InvalidationRun Invalidation,
    IReadOnlyList<HitPair> HitPairs,
    RatioSummary? HitRatio,
    double HitGoal,
    LogSummary LoggedWithRedis,
    LogSummary LoggedWithoutRedis) : ScenarioResult(Mode)
{
    public bool HitGoalMet => HitRatio is { } ratio && ratio.Median >= HitGoal;
}
