using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Coalesce.LoadRunner.Measurement;

namespace Coalesce.LoadRunner.Processes;

/// <summary>
/// One running instance of <c>Coalesce.LoadTestApp</c> on 127.0.0.1 and a free port, and its control endpoints: the
/// counts per variant, the outage backend's switch, the caches, the heap and the scale-out counts. Disposing it stops
/// the process.
/// </summary>
internal sealed class LoadTestApp : IAsyncDisposable
{
    // Generous: six instances may start at once on one core of a busy machine.
    private static readonly TimeSpan AddressBound = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ReadyBound = TimeSpan.FromSeconds(10);
    private static readonly JsonSerializerOptions WebJson = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _client;

    private LoadTestApp(string name, ChildProcess process, int port)
    {
        Name = name;
        Process = process;
        Port = port;
        // The memory scenario's heap reading runs a full collection of a large heap: give control calls time.
        _client = new HttpClient { BaseAddress = new Uri(BaseUrl), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Name { get; }

    public ChildProcess Process { get; }

    public int Port { get; }

    public string BaseUrl => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{Port}");

    /// <summary>The app's log (its console output): warnings and errors the outage and scale-out scenarios report.</summary>
    public string LogPath => Process.LogPath!;

    /// <summary>
    /// Starts an instance (<c>dotnet Coalesce.LoadTestApp.dll --port 0</c> and <paramref name="arguments"/>), pinned
    /// to <paramref name="cpu"/> when given, and waits until it answers <c>/_ready</c>. <paramref name="assembly"/> is
    /// another build of the app (the streaming scenario's build of an earlier commit); by default, this repository's.
    /// </summary>
    public static async Task<LoadTestApp> StartAsync(
        RunContext run, string name, IEnumerable<string> arguments, int? cpu, CancellationToken cancellationToken, string? assembly = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        assembly ??= run.Layout.AppAssembly;
        if (!File.Exists(assembly))
        {
            throw new RunnerException(assembly == run.Layout.AppAssembly
                ? $"the build did not produce {assembly}."
                : $"there is no app at {assembly}.");
        }

        var logPath = Path.Combine(run.WorkFolder, $"{name}.log");
        var process = run.Processes.Start(name, "dotnet", [assembly, "--port", "0", .. arguments],
            new ChildProcessOptions { LogPath = logPath, Cpu = cpu });
        var line = await process.WaitForLineAsync("LOADTEST_LISTENING ", AddressBound, cancellationToken);
        var address = line["LOADTEST_LISTENING ".Length..].Trim();
        if (!int.TryParse(address[(address.LastIndexOf(':') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new RunnerException($"{name} reported an address without a port: '{address}'.");
        }

        var app = new LoadTestApp(name, process, port);
        await app.WaitUntilReadyAsync(cancellationToken);
        run.Log($"{name} ready on {app.BaseUrl} (pid {process.Id}{(cpu is { } c ? $", CPU {c}" : "")})");
        return app;
    }

    /// <summary>The app's resident memory now and at its peak (since the last <see cref="TryResetPeakMemory"/>).</summary>
    public ResidentMemory Memory() => ProcessMemory.Read(Process.Id);

    public bool TryResetPeakMemory() => ProcessMemory.TryResetPeak(Process.Id);

    /// <summary>The app's user + system CPU time so far.</summary>
    public TimeSpan CpuTime() => ProcessCpu.Read(Process.Id);

    public Task ResetCountsAsync(CancellationToken cancellationToken) => PostAsync("/_counts/reset", cancellationToken);

    /// <summary>The counts of one variant (the app's name for it, such as <c>unique.coalesce</c>) since the last reset.</summary>
    public async Task<VariantCounts> ReadCountsAsync(string counter, CancellationToken cancellationToken)
    {
        var all = await _client.GetFromJsonAsync<List<VariantCounts>>("/_counts", WebJson, cancellationToken) ?? [];
        return all.FirstOrDefault(c => c.Variant == counter) ?? throw new RunnerException($"{Name} has no counts for {counter}.");
    }

    public Task BackendUpAsync(CancellationToken cancellationToken) => PostAsync("/_backend/up", cancellationToken);

    public Task BackendDownAsync(CancellationToken cancellationToken) => PostAsync("/_backend/down", cancellationToken);

    public Task ClearCachesAsync(CancellationToken cancellationToken) => PostAsync("/_caches/clear", cancellationToken);

    /// <summary>One figure of <c>/_heap.txt</c>: <c>heap_bytes</c> (after a full collection), <c>memo_entries</c>, <c>memo_bytes</c>.</summary>
    public async Task<long> ReadHeapFigureAsync(string figure, CancellationToken cancellationToken)
    {
        var text = await _client.GetStringAsync("/_heap.txt", cancellationToken);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length == 2 && fields[0] == figure)
            {
                return long.Parse(fields[1], CultureInfo.InvariantCulture);
            }
        }

        throw new RunnerException($"{Name}'s /_heap.txt has no {figure}.");
    }

    /// <summary><c>/_coalesce/stats</c> as the app answers it.</summary>
    public async Task<JsonElement> ReadStatsAsync(CancellationToken cancellationToken) =>
        await _client.GetFromJsonAsync<JsonElement>("/_coalesce/stats", cancellationToken);

    /// <summary><c>/_scaleout/counts.txt</c> as the app answers it: executions per id and the Redis level's figures.</summary>
    public Task<string> ReadScaleOutCountsTextAsync(CancellationToken cancellationToken) =>
        _client.GetStringAsync("/_scaleout/counts.txt", cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await Process.DisposeAsync();
    }

    private async Task WaitUntilReadyAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + ReadyBound;
        while (true)
        {
            try
            {
                using var response = await _client.GetAsync("/_ready", cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new RunnerException($"{Name} did not answer /_ready within {ReadyBound.TotalSeconds:0} s.");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    private async Task PostAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await _client.PostAsync(path, null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new RunnerException($"{Name} answered POST {path} with {(int)response.StatusCode}.");
        }
    }
}
