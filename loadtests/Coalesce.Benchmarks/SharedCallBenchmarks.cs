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

    private Task<int> IdiomAsync(string key, Func<CancellationToken, Task<int>> fn) => _idiom.CallAsync(key, fn);
}
