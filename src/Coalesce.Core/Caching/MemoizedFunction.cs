namespace Coalesce;

/// <summary>
/// An asynchronous function whose results are kept in a <see cref="MemoCache"/>: concurrent calls with the same
/// argument run it once, failures are not kept, and <see cref="ClearAsync"/> forgets every result of this function.
/// Results past their time to live are served stale as <see cref="MemoizeOptions{TArg}.StaleWhileRevalidate"/>,
/// <see cref="MemoizeOptions{TArg}.StaleIfError"/> and <see cref="MemoizeOptions{TArg}.SoftTimeout"/> allow, as by
/// <see cref="MemoCache.GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, CacheEntryOptions, CancellationToken)"/>.
/// </summary>
/// <typeparam name="TArg">The argument.</typeparam>
/// <typeparam name="TResult">The result.</typeparam>
public sealed class MemoizedFunction<TArg, TResult>
{
    private readonly Func<TArg, CancellationToken, Task<TResult>> _function;
    private readonly MemoizedEntries<TArg> _entries;
    private readonly System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResult>? _typeInfo;

    internal MemoizedFunction(MemoCache cache, Func<TArg, CancellationToken, Task<TResult>> function, MemoizeOptions<TArg> options, string name)
    {
        Cache = cache;
        _function = function;
        _typeInfo = options.ResultTypeInfoOf<TResult>();
        _entries = new MemoizedEntries<TArg>(options, name);
    }

    /// <summary>The cache that holds the results.</summary>
    public MemoCache Cache { get; }

    /// <summary>The tag every result of this function carries.</summary>
    public string FunctionTag => _entries.FunctionTag;

    /// <summary>Returns the remembered result for <paramref name="argument"/>, or runs the function and remembers it.</summary>
    /// <param name="argument">The argument.</param>
    /// <param name="cancellationToken">Ends this caller's wait; the function's own token is cancelled only when every caller has gone.</param>
    public ValueTask<TResult> InvokeAsync(TArg argument, CancellationToken cancellationToken = default)
    {
        var key = _entries.KeyOf(argument);
        if (Cache.TryGetEntry<TResult>(key, out var cached, out var freshness) && freshness.IsFresh)
        {
            return new ValueTask<TResult>(cached);
        }

        return FetchAsync(key, argument, cached, freshness, cancellationToken);
    }

    // Apart from InvokeAsync, so the closure below is allocated on a miss only, not on entry to every call.
    private ValueTask<TResult> FetchAsync(string key, TArg argument, TResult? stale, EntryFreshness freshness, CancellationToken cancellationToken) =>
        Cache.FetchOrServeStale(key, ct => _function(argument, ct), _entries.Settings, stale, freshness, cancellationToken, _typeInfo);

    /// <summary>Forgets every result of this function (CacheFn's <c>.clear()</c>).</summary>
    /// <returns>How many results went.</returns>
    public ValueTask<int> ClearAsync(CancellationToken cancellationToken = default) =>
        Cache.InvalidateByTagAsync(FunctionTag, cancellationToken);
}
