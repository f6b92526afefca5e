using System.Collections.Concurrent;

namespace Coalesce.Benchmarks;

/// <summary>
/// The single-flight people write by hand: <c>ConcurrentDictionary&lt;string, Lazy&lt;Task&lt;T&gt;&gt;&gt;</c> with
/// remove-on-completion. The baseline for <see cref="SharedCall"/> and the caches' stampede paths.
/// </summary>
internal sealed class LazyTaskIdiom<T>
{
    private readonly ConcurrentDictionary<string, Lazy<Task<T>>> _lazies = new();

    public async Task<T> CallAsync(string key, Func<CancellationToken, Task<T>> fn)
    {
        var lazy = _lazies.GetOrAdd(key, k => new Lazy<Task<T>>(() => fn(CancellationToken.None)));
        try
        {
            return await lazy.Value;
        }
        finally
        {
            _lazies.TryRemove(new KeyValuePair<string, Lazy<Task<T>>>(key, lazy));
        }
    }
}
