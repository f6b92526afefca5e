namespace Coalesce;

/// <summary>
/// Memoizes functions into a cache of their own (CacheFn's <c>@memoize</c> and <c>@memoize_sync</c>). To keep results
/// in a shared cache instead, use <see cref="MemoCache.Memoize{TArg, TResult}"/>.
/// </summary>
public static class Memoizer
{
    /// <summary>The bound of a memoized function's own cache unless <see cref="MemoizeOptions{TArg}.MaxEntries"/> says otherwise.</summary>
    public const int DefaultMaxEntries = 1000;

    /// <summary>Memoizes an asynchronous function into a cache of its own, bounded by <see cref="MemoizeOptions{TArg}.MaxEntries"/>.</summary>
    public static MemoizedFunction<TArg, TResult> Memoize<TArg, TResult>(
        Func<TArg, CancellationToken, Task<TResult>> function, MemoizeOptions<TArg>? options = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        options ??= new MemoizeOptions<TArg>();
        return OwnCache(options).MemoizeCore(function, options, ownCache: true);
    }

    /// <summary>Memoizes a synchronous function into a cache of its own, bounded by <see cref="MemoizeOptions{TArg}.MaxEntries"/>.</summary>
    public static MemoizedSyncFunction<TArg, TResult> MemoizeSync<TArg, TResult>(Func<TArg, TResult> function, MemoizeOptions<TArg>? options = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        options ??= new MemoizeOptions<TArg>();
        return OwnCache(options).MemoizeSyncCore(function, options, ownCache: true);
    }

    private static MemoCache OwnCache<TArg>(MemoizeOptions<TArg> options)
    {
        if (options.MaxEntries is < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), options.MaxEntries, $"{nameof(MemoizeOptions<TArg>)}.{nameof(MemoizeOptions<TArg>.MaxEntries)} must be at least 1.");
        }

        return new MemoCache(new MemoCacheOptions
        {
            Name = options.Name is null ? "memoize" : $"memoize:{options.Name}",
            MaxEntries = options.MaxEntries ?? DefaultMaxEntries,
            TimeProvider = options.TimeProvider ?? TimeProvider.System,
        });
    }
}
