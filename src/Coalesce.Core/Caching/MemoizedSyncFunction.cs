namespace Coalesce;

/// <summary>
/// A synchronous function whose results are kept in a <see cref="MemoCache"/>: concurrent calls with the same
/// argument run it once (on the first caller's thread), failures are not kept, and <see cref="Clear"/> forgets every
/// result of this function. Results past their time to live are served stale as
/// <see cref="MemoizeOptions{TArg}.StaleWhileRevalidate"/> (the refresh runs on the thread pool) and
/// <see cref="MemoizeOptions{TArg}.StaleIfError"/> allow; there is no soft timeout.
/// </summary>
/// <typeparam name="TArg">The argument.</typeparam>
/// <typeparam name="TResult">The result.</typeparam>
public sealed class MemoizedSyncFunction<TArg, TResult>
{
    private readonly Func<TArg, TResult> _function;
    private readonly MemoizedEntries<TArg> _entries;

    internal MemoizedSyncFunction(MemoCache cache, Func<TArg, TResult> function, MemoizeOptions<TArg> options, string name)
    {
        Cache = cache;
        _function = function;
        _entries = new MemoizedEntries<TArg>(options, name);
    }

    /// <summary>The cache that holds the results.</summary>
    public MemoCache Cache { get; }

    /// <summary>The tag every result of this function carries.</summary>
    public string FunctionTag => _entries.FunctionTag;

    /// <summary>Returns the remembered result for <paramref name="argument"/>, or runs the function and remembers it.</summary>
    public TResult Invoke(TArg argument)
    {
        var key = _entries.KeyOf(argument);
        if (Cache.TryGetEntry<TResult>(key, out var cached, out var freshness) && freshness.IsFresh)
        {
            return cached;
        }

        return Run(key, argument, cached, freshness);
    }

    // Apart from Invoke, so the closure below is allocated on a miss only, not on entry to every call.
    private TResult Run(string key, TArg argument, TResult? stale, EntryFreshness freshness) =>
        Cache.FetchOrServeStaleSync(key, () => _function(argument), _entries.Settings, stale, freshness);

    /// <summary>Forgets every result of this function (CacheFn's <c>.clear()</c>).</summary>
    /// <returns>How many results went.</returns>
    public int Clear() => Cache.InvalidateTags([FunctionTag]);
}
