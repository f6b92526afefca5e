using System.Globalization;

namespace Coalesce;

/// <summary>Settings for a memoized function (<see cref="MemoCache.Memoize{TArg, TResult}"/>, <see cref="Memoizer"/>).</summary>
/// <typeparam name="TArg">The function's argument; use a tuple or record for several.</typeparam>
public sealed class MemoizeOptions<TArg>
{
    /// <summary>
    /// The function's name in its cache keys (<c>memo:{Name}:{argument key}</c>). Two memoized functions with the same
    /// name over one cache share entries. Default: a name unique to the wrapper.
    /// </summary>
    public string? Name { get; set; }

    /// <summary>The time to live of results; <see langword="null"/> (the default) for the cache's default.</summary>
    public TimeSpan? Ttl { get; set; }

    /// <summary>Tags added to every result, for <see cref="MemoCache.InvalidateByTagAsync"/>.</summary>
    public IReadOnlyList<string>? Tags { get; set; }

    /// <summary>
    /// How long past its time to live a result is still returned while one background call refreshes it; see
    /// <see cref="CacheEntryOptions.StaleWhileRevalidate"/>. Default <see langword="null"/>: none. Zero or positive.
    /// </summary>
    public TimeSpan? StaleWhileRevalidate { get; set; }

    /// <summary>
    /// How long past its time to live a result is returned instead of the exception of the call that should replace
    /// it; see <see cref="CacheEntryOptions.StaleIfError"/>. Default <see langword="null"/>: none. Zero or positive.
    /// </summary>
    public TimeSpan? StaleIfError { get; set; }

    /// <summary>
    /// When a stale result may be returned on error and the call replacing it takes longer than this, callers get the
    /// stale result at once and the call completes in the background; see <see cref="CacheEntryOptions.SoftTimeout"/>.
    /// Default <see langword="null"/>: none. Positive. Asynchronous functions only: a synchronous function runs on its
    /// caller's thread, which cannot be handed a result while it runs, so <see cref="MemoCache.MemoizeSync{TArg, TResult}"/>
    /// and <see cref="Memoizer.MemoizeSync{TArg, TResult}"/> reject it.
    /// </summary>
    public TimeSpan? SoftTimeout { get; set; }

    /// <summary>
    /// Turns an argument into its cache key. Default: the argument's exact invariant text, available for strings,
    /// numbers, dates, <see cref="Guid"/>, enums and tuples of them; any other argument type needs a generator
    /// (creating the memoized function without one throws), since two different objects could print alike.
    /// </summary>
    public Func<TArg, string>? KeyGenerator { get; set; }

    /// <summary>
    /// The bound of the function's own cache, made by <see cref="Memoizer"/>. Default 1000; must be at least 1.
    /// Not allowed with <see cref="MemoCache.Memoize{TArg, TResult}"/>, whose cache has its own bound.
    /// </summary>
    public int? MaxEntries { get; set; }

    /// <summary>The clock of the function's own cache, made by <see cref="Memoizer"/>. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>
    /// The key function: <see cref="KeyGenerator"/>, or an exact default for arguments whose text identifies them.
    /// </summary>
    /// <exception cref="ArgumentException">No generator, and <typeparamref name="TArg"/> has no exact text form.</exception>
    internal Func<TArg, string> CreateKeyFunction()
    {
        if (KeyGenerator is { } generate)
        {
            var name = Name;
            return argument => generate(argument) ?? throw new InvalidOperationException($"The key generator of memoized function '{name}' returned null.");
        }

        return ArgumentKeys.Default<TArg>(string.Empty, nameof(KeyGenerator));
    }
}
