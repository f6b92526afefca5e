using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Caching.Memory;

namespace Coalesce.Benchmarks;

/// <summary>
/// <see cref="MemoCache"/> against <see cref="MemoryCache"/> on the paths a web cache lives on: a hit, a set, and a hit
/// with two threads reading the same key at once. Goal: a hit allocates nothing and is no slower than MemoryCache.
/// </summary>
[MemoryDiagnoser]
public class MemoCacheBenchmarks : IDisposable
{
    private const string Key = "product:42";
    private const int ReadsPerThread = 100_000;
    private static readonly byte[] Payload = new byte[256];
    private readonly MemoryCache _memoryCache = new(new MemoryCacheOptions());
    private readonly MemoCache _memo = new(new MemoCacheOptions { Name = "bench" });
    private readonly MemoCache _bounded = new(new MemoCacheOptions { Name = "bench-bounded", MaxEntries = 10_000 });
    private readonly MemoCache _byteBounded = new(new MemoCacheOptions { Name = "bench-byte-bounded", MaxBytes = 64L << 20, MaxEntryBytes = 1 << 20 });
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _memoryCache.Set(Key, Payload);
        _memo.SetAsync(Key, Payload).AsTask().GetAwaiter().GetResult();
        _bounded.SetAsync(Key, Payload).AsTask().GetAwaiter().GetResult();
    }

    [Benchmark(Baseline = true, Description = "MemoryCache hit")]
    public byte[]? MemoryCache_hit() => _memoryCache.TryGetValue(Key, out byte[]? value) ? value : null;

    [Benchmark(Description = "MemoCache hit (TryGet)")]
    public byte[]? MemoCache_hit() => _memo.TryGet(Key, out byte[]? value) ? value : null;

    [Benchmark(Description = "MemoCache hit (GetAsync)")]
    public ValueTask<byte[]?> MemoCache_hit_async() => _memo.GetAsync<byte[]>(Key);

    [Benchmark(Description = "MemoCache hit, LRU-bounded (TryGet)")]
    public byte[]? MemoCache_bounded_hit() => _bounded.TryGet(Key, out byte[]? value) ? value : null;

    [Benchmark(Description = "MemoryCache set")]
    public void MemoryCache_set() => _memoryCache.Set(NextKey(), Payload);

    [Benchmark(Description = "MemoCache set")]
    public ValueTask MemoCache_set() => _memo.SetAsync(NextKey(), Payload);

    [Benchmark(Description = "MemoCache set, byte-bounded")]
    public ValueTask MemoCache_byte_bounded_set() => _byteBounded.SetAsync(NextKey(), Payload);

    [Benchmark(Description = "MemoryCache hit, 2 threads", OperationsPerInvoke = 2 * ReadsPerThread)]
    public void MemoryCache_hit_contended() => OnTwoThreads(() =>
    {
        for (var i = 0; i < ReadsPerThread; i++)
        {
            _memoryCache.TryGetValue(Key, out _);
        }
    });

    [Benchmark(Description = "MemoCache hit, 2 threads", OperationsPerInvoke = 2 * ReadsPerThread)]
    public void MemoCache_hit_contended() => OnTwoThreads(() =>
    {
        for (var i = 0; i < ReadsPerThread; i++)
        {
            _memo.TryGet<byte[]>(Key, out _);
        }
    });

    public void Dispose()
    {
        _memoryCache.Dispose();
        _memo.Dispose();
        _bounded.Dispose();
        _byteBounded.Dispose();
        GC.SuppressFinalize(this);
    }

    private static void OnTwoThreads(Action reads) => Parallel.Invoke(new ParallelOptions { MaxDegreeOfParallelism = 2 }, reads, reads);

    // A bounded key space, so the set benchmarks measure replacing entries rather than growing the heap for ever.
    private string NextKey() => Keys[_next++ & (Keys.Length - 1)];

    private static readonly string[] Keys = [.. Enumerable.Range(0, 1024).Select(i => $"key:{i}")];
}
