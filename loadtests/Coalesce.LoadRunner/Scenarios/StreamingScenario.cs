using System.Diagnostics;
using System.Net;
using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;
using Coalesce.LoadRunner.Report;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 9. Streaming to followers: <c>--streaming-clients</c> requests released together on a handler that writes 5 MB over
/// 2 s in 100 chunks, without coalescing, through coalescing (also with 200 ms before the first byte) and under
/// OutputCache with its locking (and, with <c>--before-app</c>, the coalescing variants in a build of an earlier commit). wrk cannot time the first byte, so the
/// runner is the client: each request's time to headers, first body byte and last byte, bytes received, and whether
/// the handler ran for it (the app's <c>X-Load-Ran</c>); per round the handler executions and the app's peak resident
/// memory. One unmeasured round per variant first, then <c>--rounds</c> rounds, <c>--settle</c> seconds apart.
/// </summary>
internal sealed class StreamingScenario : IScenario
{
    /// <summary>What the app's handler writes (100 chunks of 50 KiB); a client that got fewer bytes counts as an error.</summary>
    public const long BodyBytes = 100 * 50 * 1024;

    private static readonly TimeSpan RoundBound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The three variants, and coalescing again with 200 ms of work before the first byte: a follower streams only when
    /// it joined before the leader's first byte left (the rest wait for the end), which clients released together on a
    /// handler that writes at once do not all manage.
    /// </summary>
    public static IReadOnlyList<Variant> Variants { get; } =
    [
        new("off", "streaming.off", "/off/streaming"),
        new("coalesce", "streaming.coalesce", "/coalesce/streaming"),
        new("coalesce, first byte after 200 ms", "streaming.coalesce", "/coalesce/streaming?first-byte-ms=200"),
        new("outputcache", "streaming.outputcache", "/outputcache/streaming"),
    ];

    public string Name => "streaming";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var settings = context.Settings;
        var variants = new List<StreamingVariant>();
        foreach (var variant in Variants)
        {
            variants.Add(await MeasureAsync(context, context.App, "this build", variant, cancellationToken));
        }

        if (settings.BeforeApp is { } beforeApp)
        {
            var commit = await MachineInfo.FirstLineAsync("git", ["-C", Path.GetDirectoryName(beforeApp)!, "rev-parse", "--short", "HEAD"], context.Run.Layout.Root);
            var build = commit == "unknown" ? "earlier build" : $"`{commit}`";
            var before = await LoadTestApp.StartAsync(context.Run, $"{context.Mode.Name}-before-app", [], context.Mode.AppCpu, cancellationToken, beforeApp);
            await using (before)
            {
                foreach (var variant in Variants.Where(v => v.Counter == "streaming.coalesce"))
                {
                    variants.Add(await MeasureAsync(context, before, build, variant, cancellationToken));
                }
            }

            File.Copy(before.LogPath, context.Run.RawPath(context.Mode, "before-app.log"), overwrite: true);
        }

        return new StreamingResult(context.Mode, settings.StreamingClients, BodyBytes, variants);
    }

    private static async Task<StreamingVariant> MeasureAsync(
        ScenarioContext context, LoadTestApp app, string build, Variant variant, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var url = new Uri(app.BaseUrl + variant.Path);
        context.Run.Log($"{context.Mode.Name} / streaming / {variant.Name} ({build}): {variant.Path}, {settings.StreamingClients} clients released together, {settings.Rounds} rounds");
        using var clients = new StreamingClients(settings.StreamingClients);

        // One round unmeasured: the connections are opened and the code paths compiled.
        await clients.RoundAsync(url, cancellationToken);
        var rounds = new List<StreamingRound>();
        for (var round = 1; round <= settings.Rounds; round++)
        {
            // Apart by --settle: a 5 MB body is too large to keep, and its key passes through for 2 s afterwards.
            await Task.Delay(TimeSpan.FromSeconds(settings.SettleSeconds), cancellationToken);
            await app.ResetCountsAsync(cancellationToken);
            var peakReset = app.TryResetPeakMemory();
            var before = app.Memory();
            var timings = await clients.RoundAsync(url, cancellationToken);
            var after = app.Memory();
            var counts = await app.ReadCountsAsync(variant.Counter, cancellationToken);
            rounds.Add(new StreamingRound(round, counts.Executions, before.RssBytes, after.PeakBytes, peakReset, timings));
        }

        return new StreamingVariant(variant.Name, build, variant.Path, rounds);
    }
}

/// <summary>
/// The scenario's clients: one <see cref="HttpClient"/> whose pool keeps a connection per client, and a round of
/// requests that start together (each waits on one gate, opened once every one of them is waiting).
/// </summary>
internal sealed class StreamingClients(int clients) : IDisposable
{
    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = clients,
    })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    public async Task<IReadOnlyList<ClientTiming>> RoundAsync(Uri url, CancellationToken cancellationToken)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var allWaiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var waiting = 0;
        var requests = new Task<ClientTiming>[clients];
        for (var i = 0; i < clients; i++)
        {
            requests[i] = Task.Run(async () =>
            {
                if (Interlocked.Increment(ref waiting) == clients)
                {
                    allWaiting.SetResult();
                }

                await gate.Task.ConfigureAwait(false);
                return await OneAsync(url, cancellationToken).ConfigureAwait(false);
            }, cancellationToken);
        }

        await allWaiting.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        gate.SetResult();
        try
        {
            return await Task.WhenAll(requests).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new RunnerException($"the streaming clients of {url} did not finish within 60 s.");
        }
    }

    public void Dispose() => _client.Dispose();

    private async Task<ClientTiming> OneAsync(Uri url, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        double headersMs = 0, firstByteMs = 0;
        long bytes = 0;
        bool? ran = null;
        try
        {
            using var response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            headersMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            ran = response.Headers.TryGetValues("X-Load-Ran", out var values) ? values.FirstOrDefault() == "1" : null;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return new ClientTiming(ran, headersMs, 0, Stopwatch.GetElapsedTime(start).TotalMilliseconds, 0, $"status {(int)response.StatusCode}");
            }

            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                var buffer = new byte[64 * 1024];
                int read;
                while ((read = await body.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (bytes == 0)
                    {
                        firstByteMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                    }

                    bytes += read;
                }
            }

            var lastByteMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            return new ClientTiming(ran, headersMs, firstByteMs, lastByteMs, bytes,
                bytes == StreamingScenario.BodyBytes ? null : $"{bytes} of {StreamingScenario.BodyBytes} bytes");
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new ClientTiming(ran, headersMs, firstByteMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds, bytes, e.GetType().Name + ": " + e.Message);
        }
    }
}

/// <summary>
/// One client's request, timed from its own start: headers, first body byte, last byte (ms), the bytes it got, whether
/// the handler ran for it (null when the response did not say), and what went wrong, if anything.
/// </summary>
internal sealed record ClientTiming(bool? Ran, double HeadersMs, double FirstByteMs, double LastByteMs, long Bytes, string? Error);

/// <summary>One round: the handler executions, the app's resident memory before it and at its peak during it, and every client's timing.</summary>
internal sealed record StreamingRound(int Round, long Executions, long RssBeforeBytes, long PeakRssBytes, bool PeakReset, IReadOnlyList<ClientTiming> Clients);

/// <summary>One variant of one build (this one, or the earlier build of <c>--before-app</c>) over its rounds.</summary>
internal sealed record StreamingVariant(string Variant, string Build, string Path, IReadOnlyList<StreamingRound> Rounds)
{
    /// <summary>Clients the handler ran for (the leader, and any that ran on their own) and the clients answered with another's run.</summary>
    public LatencyGroup Ran => LatencyGroup.Of("ran", Rounds.SelectMany(r => r.Clients).Where(c => c.Ran == true && c.Error is null));

    public LatencyGroup Shared => LatencyGroup.Of("shared", Rounds.SelectMany(r => r.Clients).Where(c => c.Ran == false && c.Error is null));

    public int Errors => Rounds.Sum(r => r.Clients.Count(c => c.Error is not null));

    public double MedianExecutions => Statistics.Median(Rounds.Select(r => (double)r.Executions));

    public long MinExecutions => Rounds.Count == 0 ? 0 : Rounds.Min(r => r.Executions);

    public long MaxExecutions => Rounds.Count == 0 ? 0 : Rounds.Max(r => r.Executions);

    public double MedianPeakRssBytes => Statistics.Median(Rounds.Select(r => (double)r.PeakRssBytes));

    public long MaxPeakRssBytes => Rounds.Count == 0 ? 0 : Rounds.Max(r => r.PeakRssBytes);

    /// <summary>The peak over the resident size the round started at, median over the rounds.</summary>
    public double MedianPeakGrowthBytes => Statistics.Median(Rounds.Select(r => (double)(r.PeakRssBytes - r.RssBeforeBytes)));
}

/// <summary>Time to first byte and to last byte of a group of clients over every round: median, 95th percentile, max.</summary>
internal sealed record LatencyGroup(string Role, int Clients, LatencySummary FirstByte, LatencySummary LastByte)
{
    public static LatencyGroup Of(string role, IEnumerable<ClientTiming> clients)
    {
        var list = clients.ToList();
        return new LatencyGroup(role, list.Count, LatencySummary.Of(list.Select(c => c.FirstByteMs)), LatencySummary.Of(list.Select(c => c.LastByteMs)));
    }
}

internal sealed record LatencySummary(double MedianMs, double P95Ms, double MaxMs)
{
    public static LatencySummary Of(IEnumerable<double> values)
    {
        var list = values.ToList();
        return new LatencySummary(Statistics.Median(list), Statistics.Percentile(list, 95), list.Count == 0 ? 0 : list.Max());
    }
}

/// <summary>The streaming scenario in one mode: the clients per round, the body's size, each variant measured.</summary>
internal sealed record StreamingResult(MeasurementMode Mode, int Clients, long BodyBytes, IReadOnlyList<StreamingVariant> Variants) : ScenarioResult(Mode);
