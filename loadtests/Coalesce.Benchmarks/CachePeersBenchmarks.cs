using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using ZiggyCreatures.Caching.Fusion;

namespace Coalesce.Benchmarks;

/// <summary>
/// <see cref="MemoCache"/> against the caches a .NET team would pick instead, in one run: <see cref="MemoryCache"/>,
/// HybridCache (<c>GetOrCreateAsync</c>) and FusionCache (<c>GetOrSet</c>, <c>GetOrSetAsync</c>), with
/// <see cref="SharedCall"/> and the <c>Lazy&lt;Task&gt;</c> idiom beside them for the stampede.
/// </summary>
/// <remarks>
/// <para>
/// Hit: one key holding a string (HybridCache keeps strings as they are, without serializing them on a hit).
/// Goals: a <c>GetOrFetchAsync</c> hit allocates nothing, as HybridCache's does, and a <c>TryGet</c> hit is no slower
/// than <c>MemoryCache.TryGetValue</c>.
/// </para>
/// <para>
/// Stampede: 100 callers ask for one absent key whose fetch waits on a gate; the gate opens once all have asked, and
/// every caller's answer is awaited. The figure is per stampede (100 callers), and includes removing the key after
/// it so the next stampede starts on a fresh miss; every variant pays that. <c>MemoryCache.GetOrCreateAsync</c> has no
/// stampede protection: all 100 callers run the fetch.
/// </para>
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class CachePeersBenchmarks : IDisposable
{
    private const string Key = "product:42";
    private const int Callers = 100;
    private const string Hit = "Hit";
    private const string Stampede = "Stampede";
    private static readonly string Payload = new('x', 256);

    private readonly MemoryCache _memoryCache = new(new MemoryCacheOptions());
    private readonly MemoCache _memo = new(new MemoCacheOptions { Name = "bench-peers" });
    private readonly FusionCache _fusion = new(new FusionCacheOptions());
    private readonly ServiceProvider _services;
    private readonly HybridCache _hybrid;
    private readonly SharedCall _shared = new();
    private readonly LazyTaskIdiom<string> _idiom = new();
    private readonly Task<string>[] _tasks = new Task<string>[Callers];
    private readonly ValueTask<string>[] _valueTasks = new ValueTask<string>[Callers];

    // Each API's fetch, made once, so a stampede allocates only what the API itself does (and one gate).
    private readonly Func<CancellationToken, Task<string>> _fetch;
    private readonly Func<ICacheEntry, Task<string>> _memoryFetch;
    private readonly Func<CancellationToken, ValueTask<string>> _hybridFetch;
    private readonly Func<FusionCacheFactoryExecutionContext<string>, CancellationToken, Task<string>> _fusionFetch;
    private TaskCompletionSource<string> _gate = new();

    public CachePeersBenchmarks()
    {
        _fetch = _ => _gate.Task;
        _memoryFetch = _ => _gate.Task;
        _hybridFetch = _ => new ValueTask<string>(_gate.Task);
        _fusionFetch = (_, _) => _gate.Task;

        var services = new ServiceCollection();
        services.AddHybridCache();
        _services = services.BuildServiceProvider();
        _hybrid = _services.GetRequiredService<HybridCache>();
    }

    [GlobalSetup]
    public void Setup()
    {
        _memoryCache.Set(Key, Payload);
        _memo.SetAsync(Key, Payload).AsTask().GetAwaiter().GetResult();
        _fusion.Set(Key, Payload);
        _hybrid.SetAsync(Key, Payload).AsTask().GetAwaiter().GetResult();
    }

    // ---- Hit path ------------------------------------------------------------------------------------------------

    [BenchmarkCategory(Hit), Benchmark(Baseline = true, Description = "MemoryCache.TryGetValue hit")]
    public string? MemoryCache_hit() => _memoryCache.TryGetValue(Key, out string? value) ? value : null;

    [BenchmarkCategory(Hit), Benchmark(Description = "MemoCache.TryGet hit")]
    public string? MemoCache_TryGet_hit() => _memo.TryGet(Key, out string? value) ? value : null;

    [BenchmarkCategory(Hit), Benchmark(Description = "MemoCache.GetOrFetchAsync hit")]
    public ValueTask<string> MemoCache_GetOrFetchAsync_hit() => _memo.GetOrFetchAsync(Key, static _ => Task.FromResult(Payload));

    [BenchmarkCategory(Hit), Benchmark(Description = "HybridCache.GetOrCreateAsync hit")]
    public ValueTask<string> HybridCache_hit() => _hybrid.GetOrCreateAsync(Key, static _ => ValueTask.FromResult(Payload));

    [BenchmarkCategory(Hit), Benchmark(Description = "FusionCache.GetOrSet hit")]
    public string FusionCache_hit() => _fusion.GetOrSet<string>(Key, static (_, _) => Payload);

    [BenchmarkCategory(Hit), Benchmark(Description = "FusionCache.GetOrSetAsync hit")]
    public ValueTask<string> FusionCache_async_hit() => _fusion.GetOrSetAsync<string>(Key, static (_, _) => Task.FromResult(Payload));

    // ---- Stampede: 100 callers on one fresh key ---------------------------------------------------------------------

    [BenchmarkCategory(Stampede), Benchmark(Baseline = true, Description = "Lazy<Task> idiom, 100 callers")]
    public Task Idiom_stampede() => StampedeAsync(static self => self._idiom.CallAsync(Key, self._fetch), static _ => default);

    [BenchmarkCategory(Stampede), Benchmark(Description = "SharedCall, 100 callers")]
    public Task SharedCall_stampede() => StampedeAsync(static self => self._shared.CallAsync(Key, self._fetch), static _ => default);

    [BenchmarkCategory(Stampede), Benchmark(Description = "MemoCache.GetOrFetchAsync, 100 callers")]
    public Task MemoCache_stampede() => StampedeAsync(
        static self => self._memo.GetOrFetchAsync(Key, self._fetch).AsTask(),
        static async self => await self._memo.DeleteAsync(Key));

    [BenchmarkCategory(Stampede), Benchmark(Description = "MemoryCache.GetOrCreateAsync, 100 callers (no protection)")]
    public Task MemoryCache_stampede() => StampedeAsync(
        static self => self._memoryCache.GetOrCreateAsync(Key, self._memoryFetch)!,
        static self =>
        {
            self._memoryCache.Remove(Key);
            return default;
        });

    [BenchmarkCategory(Stampede), Benchmark(Description = "HybridCache.GetOrCreateAsync, 100 callers")]
    public Task HybridCache_stampede() => ValueStampedeAsync(
        static self => self._hybrid.GetOrCreateAsync(Key, self._hybridFetch),
        static self => self._hybrid.RemoveAsync(Key));

    [BenchmarkCategory(Stampede), Benchmark(Description = "FusionCache.GetOrSetAsync, 100 callers")]
    public Task FusionCache_stampede() => ValueStampedeAsync(
        static self => self._fusion.GetOrSetAsync<string>(Key, self._fusionFetch),
        static self => self._fusion.RemoveAsync(Key));

    public void Dispose()
    {
        _memoryCache.Dispose();
        _memo.Dispose();
        _fusion.Dispose();
        _services.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Every caller starts before the fetch can finish; then the gate opens and every answer is awaited.</summary>
    private async Task StampedeAsync(Func<CachePeersBenchmarks, Task<string>> call, Func<CachePeersBenchmarks, ValueTask> forget)
    {
        _gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < Callers; i++)
        {
            _tasks[i] = call(this);
        }

        _gate.SetResult(Payload);
        for (var i = 0; i < Callers; i++)
        {
            await _tasks[i];
        }

        await forget(this);
    }

    /// <summary>As <see cref="StampedeAsync"/>, for APIs that answer with a <see cref="ValueTask{TResult}"/>.</summary>
    [SuppressMessage("Reliability", "CA2012:Use ValueTasks correctly", Justification = "Each is kept only until it is awaited, once, below.")]
    private async Task ValueStampedeAsync(Func<CachePeersBenchmarks, ValueTask<string>> call, Func<CachePeersBenchmarks, ValueTask> forget)
    {
        _gate = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < Callers; i++)
        {
            _valueTasks[i] = call(this);
        }

        _gate.SetResult(Payload);
        for (var i = 0; i < Callers; i++)
        {
            await _valueTasks[i];
        }

        await forget(this);
    }
}
