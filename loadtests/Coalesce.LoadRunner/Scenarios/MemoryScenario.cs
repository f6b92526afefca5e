using System.Globalization;
using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Wrk;

namespace Coalesce.LoadRunner.Scenarios;

/// <summary>
/// 6. Memory: the managed heap (after a full collection) grown by <c>--memory-keys</c> distinct ~1 KB responses kept
/// by Coalesce's memo cache and by OutputCache's memory store, per entry; then the heap after <c>--flood-keys</c>
/// distinct memoized keys under the default bounds (<c>MemoMaxEntries</c> 10,000, <c>MemoMaxBytes</c> 100 MiB).
/// </summary>
internal sealed class MemoryScenario : IScenario
{
    private const int FillConnections = 32;

    public string Name => "memory";

    public async Task<ScenarioResult> RunAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var app = context.App;
        var settings = context.Settings;
        context.Run.Log($"{context.Mode.Name} / memory: {settings.MemoryKeys} distinct memoized responses, the same under OutputCache, then {settings.FloodKeys} distinct memoized keys");
        var fillSeconds = settings.MemoryKeys / 1000 + 3;

        var memoGrowth = await GrowthAsync(context, "/memo/fill", settings.MemoryKeys, fillSeconds, cancellationToken);
        var memoEntries = await app.ReadHeapFigureAsync("memo_entries", cancellationToken);

        var outputCacheGrowth = await GrowthAsync(context, "/outputcache/fill", settings.MemoryKeys, fillSeconds, cancellationToken);

        var floodGrowth = await GrowthAsync(context, "/memo/fill", settings.FloodKeys, settings.FloodKeys / 2000 + 5, cancellationToken);
        var floodEntries = await app.ReadHeapFigureAsync("memo_entries", cancellationToken);
        var floodBytes = await app.ReadHeapFigureAsync("memo_bytes", cancellationToken);

        return new MemoryResult(
            context.Mode,
            settings.MemoryKeys,
            memoEntries,
            memoGrowth / Math.Max(memoEntries, 1),
            outputCacheGrowth / settings.MemoryKeys,
            settings.FloodKeys,
            floodGrowth,
            floodEntries,
            floodBytes);
    }

    /// <summary>Clears both caches, then asks for <c>?id=1..keys</c> round and round: the heap's growth.</summary>
    private static async Task<long> GrowthAsync(ScenarioContext context, string path, int keys, int seconds, CancellationToken cancellationToken)
    {
        var app = context.App;
        await app.ClearCachesAsync(cancellationToken);
        var before = await app.ReadHeapFigureAsync("heap_bytes", cancellationToken);
        var fill = new WrkRequest(app.BaseUrl + path, "fill.lua", FillConnections, seconds)
        {
            Environment = new Dictionary<string, string>
            {
                ["KEYS"] = keys.ToString(CultureInfo.InvariantCulture),
                ["THREADS"] = Math.Min(context.Settings.Threads, FillConnections).ToString(CultureInfo.InvariantCulture),
            },
        };
        await context.Measurer.Wrk.RunAsync(fill, null, cancellationToken);
        return await app.ReadHeapFigureAsync("heap_bytes", cancellationToken) - before;
    }
}

/// <summary>Heap per kept response in each cache, and the heap and the memo cache's own figures after the flood.</summary>
internal sealed record MemoryResult(
    MeasurementMode Mode,
    int MemoryKeys,
    long MemoEntries,
    long MemoBytesPerEntry,
    long OutputCacheBytesPerEntry,
    int FloodKeys,
    long FloodHeapGrowthBytes,
    long FloodEntries,
    long FloodCacheBytes) : ScenarioResult(Mode);
