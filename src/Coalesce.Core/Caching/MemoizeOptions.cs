using System.Globalization;

namespace Coalesce;

/// <summary>Settings for a memoized function (<see cref="MemoCache.Memoize{TArg, TResult}"/>, <see cref="Memoizer"/>).</summary>
/// <typeparam name="TArg">The function's argument; use a tuple or record for several.</typeparam>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class MemoizeOptions<TArg>
{
    /// <summary>
    /// The function's name in its cache keys (<c>memo:{Name}:{argument key}</c>). Two memoized functions with the same
    /// name over one cache share entries. Default: a name unique to the wrapper.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public string? Name { get; set; }

    /// <summary>The time to live of results; <see langword="null"/> (the default) for the cache's default.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public TimeSpan? Ttl { get; set; }

    /// <summary>Tags added to every result, for <see cref="MemoCache.InvalidateByTagAsync"/>.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public IReadOnlyList<string>? Tags { get; set; }

    /// <summary>
    /// How long past its time to live a result is still returned while one background call refreshes it; see
    /// <see cref="CacheEntryOptions.StaleWhileRevalidate"/>. Default <see langword="null"/>: none. Zero or positive.
    /// </summary>
    /// <remarks>See docs/stale-windows.md in the repository.</remarks>
    public TimeSpan? StaleWhileRevalidate { get; set; }

    /// <summary>
    /// How long past its time to live a result is returned instead of the exception of the call that should replace
    /// it; see <see cref="CacheEntryOptions.StaleIfError"/>. Default <see langword="null"/>: none. Zero or positive.
    /// </summary>
    /// <remarks>See docs/stale-windows.md in the repository.</remarks>
    public TimeSpan? StaleIfError { get; set; }

    /// <summary>
    /// When a stale result may be returned on error and the call replacing it takes longer than this, callers get the
    /// stale result at once and the call completes in the background; see <see cref="CacheEntryOptions.SoftTimeout"/>.
    /// Default <see langword="null"/>: none. Positive. Asynchronous functions only: a synchronous function runs on its
    /// caller's thread, which cannot be handed a result while it runs, so <see cref="MemoCache.MemoizeSync{TArg, TResult}"/>
    /// and <see cref="Memoizer.MemoizeSync{TArg, TResult}"/> reject it.
    /// </summary>
    /// <remarks>See docs/stale-windows.md in the repository.</remarks>
    public TimeSpan? SoftTimeout { get; set; }

    /// <summary>
    /// Source-generated JSON metadata of the function's result (a <c>JsonTypeInfo&lt;TResult&gt;</c> from a
    /// <c>JsonSerializerContext</c>): with it, results are shared through the cache's
    /// <see cref="MemoCacheOptions.SecondLevel"/> as by
    /// <see cref="MemoCache.GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}, CacheEntryOptions?, CancellationToken)"/>,
    /// so every instance of the app runs the function once per argument while the result lives (give a
    /// <see cref="Name"/> and a <see cref="Ttl"/>: the name is part of the shared key, and only values with a time to
    /// live are shared). Default <see langword="null"/>: results stay in memory. Creating the memoized function throws
    /// when it describes another type than the result, and for synchronous functions (which cannot wait for the second
    /// level). A cache without a second level ignores it.
    /// </summary>
    /// <remarks>See docs/across-instances.md in the repository.</remarks>
    public System.Text.Json.Serialization.Metadata.JsonTypeInfo? ResultTypeInfo { get; set; }

    /// <summary>
    /// Turns an argument into its cache key. Default: the argument's exact invariant text, available for strings,
    /// numbers, dates, <see cref="Guid"/>, enums and tuples of them; any other argument type needs a generator
    /// (creating the memoized function without one throws), since two different objects could print alike.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public Func<TArg, string>? KeyGenerator { get; set; }

    /// <summary>
    /// The bound of the function's own cache, made by <see cref="Memoizer"/>. Default 1000; must be at least 1.
    /// Not allowed with <see cref="MemoCache.Memoize{TArg, TResult}"/>, whose cache has its own bound.
    /// </summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
    public int? MaxEntries { get; set; }

    /// <summary>The clock of the function's own cache, made by <see cref="Memoizer"/>. Default <see cref="TimeProvider.System"/>.</summary>
    /// <remarks>See docs/engines.md in the repository.</remarks>
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

    /// <summary>The checked <see cref="ResultTypeInfo"/>.</summary>
    /// <exception cref="ArgumentException">It describes another type than <typeparamref name="TResult"/>.</exception>
    internal System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResult>? ResultTypeInfoOf<TResult>() => ResultTypeInfo switch
    {
        null => null,
        System.Text.Json.Serialization.Metadata.JsonTypeInfo<TResult> typed => typed,
        var other => throw new ArgumentException(
            $"{nameof(MemoizeOptions<TArg>)}.{nameof(ResultTypeInfo)} describes '{other.Type.FullName}', but the function returns '{typeof(TResult).FullName}'.",
            nameof(ResultTypeInfo)),
    };
}
