using BenchmarkDotNet.Attributes;

namespace Coalesce.Benchmarks;

/// <summary>
/// <see cref="SharedCall.CallAsync{T}"/> against the idiom people write by hand:
/// <c>ConcurrentDictionary&lt;string, Lazy&lt;Task&lt;T&gt;&gt;&gt;</c> with remove-on-completion.
/// </summary>
[MemoryDiagnoser]
public class SharedCallBenchmarks
{
    private const string Key = "product:42";
    private readonly SharedCall _shared = new();
    private readonly LazyTaskIdiom<int> _idiom = new();
    private readonly Task<int>[] _tasks = new Task<int>[100];
    private readonly string[][] _uniqueKeys = CreateUniqueKeys();

    [Benchmark(Baseline = true, Description = "Lazy<Task> idiom, 1 caller")]
    public Task<int> Idiom_one_caller() => IdiomAsync(Key, static _ => Task.FromResult(42));

    [Benchmark(Description = "SharedCall, 1 caller")]
    public Task<int> SharedCall_one_caller() => _shared.CallAsync(Key, static _ => Task.FromResult(42));

    [Benchmark(Description = "Lazy<Task> idiom, 100 callers on 1 key", OperationsPerInvoke = 100)]
    public async Task Idiom_hundred_callers()
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < _tasks.Length; i++)
        {
            _tasks[i] = IdiomAsync(Key, _ => gate.Task);
        }

        gate.SetResult(42);
        await Task.WhenAll(_tasks);
    }

    [Benchmark(Description = "SharedCall, 100 callers on 1 key", OperationsPerInvoke = 100)]
    public async Task SharedCall_hundred_callers()
    {
        var gate = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        for (var i = 0; i < _tasks.Length; i++)
        {
            _tasks[i] = _shared.CallAsync(Key, _ => gate.Task);
        }

        gate.SetResult(42);
        await Task.WhenAll(_tasks);
    }

    /// <summary>
    /// Every core starting and ending flights for keys of its own at once, as a busy server with unique keys does: the
    /// flight map is written from all cores, so what counts is how often they pass its cache lines between them.
    /// </summary>
    [Benchmark(Description = "Lazy<Task> idiom, unique keys on every core at once", OperationsPerInvoke = UniqueKeysPerCore * UniqueKeyRounds)]
    public void Idiom_unique_keys_on_every_core() => OnEveryCore((keys, i) => _idiom.CallAsync(keys[i], static _ => Task.FromResult(42)));

    [Benchmark(Description = "SharedCall, unique keys on every core at once", OperationsPerInvoke = UniqueKeysPerCore * UniqueKeyRounds)]
    public void SharedCall_unique_keys_on_every_core() => OnEveryCore((keys, i) => _shared.CallAsync(keys[i], static _ => Task.FromResult(42)));

    private const int UniqueKeysPerCore = 4096;
    private const int UniqueKeyRounds = 4;

    private static string[][] CreateUniqueKeys() =>
        Enumerable.Range(0, Environment.ProcessorCount)
            .Select(core => Enumerable.Range(0, UniqueKeysPerCore).Select(i => $"GET /api/products/{core}-{i}?page=1").ToArray())
            .ToArray();

    /// <summary>Runs <paramref name="call"/> for each core's keys on that many threads at once; the time is per call.</summary>
    private void OnEveryCore(Func<string[], int, Task<int>> call) => Parallel.For(
        0,
        _uniqueKeys.Length,
        new ParallelOptions { MaxDegreeOfParallelism = _uniqueKeys.Length },
        core =>
        {
            var keys = _uniqueKeys[core];
            for (var round = 0; round < UniqueKeyRounds; round++)
            {
                for (var i = 0; i < keys.Length; i++)
                {
                    call(keys, i).GetAwaiter().GetResult();
                }
            }
        });

    private Task<int> IdiomAsync(string key, Func<CancellationToken, Task<int>> fn) => _idiom.CallAsync(key, fn);
}
