namespace Coalesce;

public sealed partial class MemoCache
{
    // Per cache, not per process: an unnamed function's keys only need to be unique within the cache that holds them.
    private long _memoizedFunctions;

    /// <summary>
    /// Memoizes an asynchronous function into this cache (CacheFn's <c>@memoize</c>): results live here under
    /// <c>memo:{name}:{argument key}</c>, count in this cache's stats and obey its bound.
    /// </summary>
    /// <param name="function">The function; its token is cancelled only when every caller waiting on it has gone.</param>
    /// <param name="options">Time to live, tags, key generator and name. <see cref="MemoizeOptions{TArg}.MaxEntries"/> is not allowed here.</param>
    public MemoizedFunction<TArg, TResult> Memoize<TArg, TResult>(
        Func<TArg, CancellationToken, Task<TResult>> function, MemoizeOptions<TArg>? options = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        return MemoizeCore(function, options ?? new MemoizeOptions<TArg>(), ownCache: false);
    }

    /// <summary>
    /// Memoizes a synchronous function into this cache (CacheFn's <c>@memoize_sync</c>). Concurrent calls with one
    /// argument run it once, on the first caller's thread.
    /// </summary>
    /// <param name="function">The function.</param>
    /// <param name="options">Time to live, tags, key generator and name. <see cref="MemoizeOptions{TArg}.MaxEntries"/> is not allowed here.</param>
    public MemoizedSyncFunction<TArg, TResult> MemoizeSync<TArg, TResult>(Func<TArg, TResult> function, MemoizeOptions<TArg>? options = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        return MemoizeSyncCore(function, options ?? new MemoizeOptions<TArg>(), ownCache: false);
    }

    internal MemoizedFunction<TArg, TResult> MemoizeCore<TArg, TResult>(
        Func<TArg, CancellationToken, Task<TResult>> function, MemoizeOptions<TArg> options, bool ownCache) =>
        new(this, function, options, MemoizedName(options, ownCache));

    internal MemoizedSyncFunction<TArg, TResult> MemoizeSyncCore<TArg, TResult>(Func<TArg, TResult> function, MemoizeOptions<TArg> options, bool ownCache)
    {
        if (options.SoftTimeout is not null)
        {
            throw new ArgumentException(
                $"{nameof(MemoizeOptions<TArg>)}.{nameof(MemoizeOptions<TArg>.SoftTimeout)} is for asynchronous functions: a synchronous function runs on its caller's thread, which cannot be handed a stale result while the function runs. Use Memoize with an asynchronous function, or leave SoftTimeout unset.",
                nameof(options));
        }

        if (options.ResultTypeInfo is not null)
        {
            throw new ArgumentException(
                $"{nameof(MemoizeOptions<TArg>)}.{nameof(MemoizeOptions<TArg>.ResultTypeInfo)} is for asynchronous functions: a synchronous function cannot wait for the second level without blocking its caller's thread. Use Memoize with an asynchronous function, or leave ResultTypeInfo unset.",
                nameof(options));
        }

        return new(this, function, options, MemoizedName(options, ownCache));
    }

    private string MemoizedName<TArg>(MemoizeOptions<TArg> options, bool ownCache)
    {
        if (!ownCache && options.MaxEntries is not null)
        {
            throw new ArgumentException(
                $"{nameof(MemoizeOptions<TArg>)}.{nameof(MemoizeOptions<TArg>.MaxEntries)} bounds a memoized function's own cache (Memoizer.Memoize); a function memoized into a shared MemoCache obeys that cache's MaxEntries.",
                nameof(options));
        }

        return options.Name ?? $"fn{Interlocked.Increment(ref _memoizedFunctions)}";
    }
}
