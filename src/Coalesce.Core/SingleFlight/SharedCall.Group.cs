namespace Coalesce;

// Group(...) wrappers: turn a function into one whose concurrent calls with equal arguments run once.
public sealed partial class SharedCall
{
    /// <summary>
    /// Wraps a parameterless async function so that concurrent calls share one execution.
    /// </summary>
    /// <param name="fn">The function to wrap.</param>
    /// <param name="key">The key; by default the function's declaring type and name.</param>
    /// <returns>A function with the same signature whose concurrent calls are coalesced.</returns>
    public Func<CancellationToken, Task<T>> Group<T>(Func<CancellationToken, Task<T>> fn, string? key = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var groupKey = key ?? ArgumentKeys.Prefix(fn);
        ArgumentException.ThrowIfNullOrEmpty(groupKey, nameof(key));
        return ct => CallAsync(groupKey, fn, ct);
    }

    /// <summary>
    /// Wraps an async function of one argument so that concurrent calls with the same key share one execution.
    /// </summary>
    /// <param name="fn">The function to wrap.</param>
    /// <param name="keyFn">
    /// Maps the argument to the key. Optional when <typeparamref name="TArg"/> has an exact text form
    /// (string, number, <see cref="Guid"/>, date, enum, bool, char): the default key is the function's
    /// name with the argument. Other types need a key function, since two different objects could print alike.
    /// </param>
    /// <returns>A function with the same signature whose concurrent calls are coalesced.</returns>
    /// <exception cref="ArgumentException">No key function and <typeparamref name="TArg"/> has no exact text form.</exception>
    public Func<TArg, CancellationToken, Task<T>> Group<TArg, T>(Func<TArg, CancellationToken, Task<T>> fn, Func<TArg, string>? keyFn = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var key = keyFn ?? ArgumentKeys.Default<TArg>(ArgumentKeys.Prefix(fn), nameof(keyFn));
        return (arg, ct) => CallAsync(ArgumentKeys.Checked(key(arg)), ct2 => fn(arg, ct2), ct);
    }

    /// <summary>
    /// Wraps an async function of two arguments so that concurrent calls with the same key share one execution.
    /// </summary>
    /// <param name="fn">The function to wrap.</param>
    /// <param name="keyFn">Maps the arguments to the key; optional under the rule of <see cref="Group{TArg, T}(Func{TArg, CancellationToken, Task{T}}, Func{TArg, string}?)"/>.</param>
    /// <returns>A function with the same signature whose concurrent calls are coalesced.</returns>
    public Func<TArg1, TArg2, CancellationToken, Task<T>> Group<TArg1, TArg2, T>(
        Func<TArg1, TArg2, CancellationToken, Task<T>> fn, Func<TArg1, TArg2, string>? keyFn = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        if (keyFn is null)
        {
            var prefix = ArgumentKeys.Prefix(fn);
            var first = ArgumentKeys.Default<TArg1>(prefix, nameof(keyFn));
            var second = ArgumentKeys.Default<TArg2>(string.Empty, nameof(keyFn));
            keyFn = (a, b) => first(a) + second(b);
        }

        return (a, b, ct) => CallAsync(ArgumentKeys.Checked(keyFn(a, b)), ct2 => fn(a, b, ct2), ct);
    }

    /// <summary>
    /// Wraps a synchronous function of one argument so that concurrent calls with the same key run it once;
    /// see <see cref="Call{T}(string, Func{T})"/>.
    /// </summary>
    /// <param name="fn">The function to wrap.</param>
    /// <param name="keyFn">Maps the argument to the key; optional under the rule of <see cref="Group{TArg, T}(Func{TArg, CancellationToken, Task{T}}, Func{TArg, string}?)"/>.</param>
    /// <returns>A function with the same signature whose concurrent calls are coalesced.</returns>
    public Func<TArg, T> Group<TArg, T>(Func<TArg, T> fn, Func<TArg, string>? keyFn = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var key = keyFn ?? ArgumentKeys.Default<TArg>(ArgumentKeys.Prefix(fn), nameof(keyFn));
        return arg => Call(ArgumentKeys.Checked(key(arg)), () => fn(arg));
    }
}
