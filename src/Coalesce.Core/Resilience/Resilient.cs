using Coalesce.Resilience;

namespace Coalesce;

/// <summary>
/// Wraps a function so that calls to it retry with backoff, fall back over alternative values, respect a
/// rate limit and, optionally, are memoized and coalesced — the .NET form of opero's <c>@opero</c> decorator.
/// The returned delegate is thread-safe and meant to be kept and reused (rate limits and single-flight work
/// across its calls).
/// </summary>
/// <example>
/// <code>
/// var getUser = Resilient.Wrap&lt;int, User&gt;((id, ct) =&gt; api.GetUserAsync(id, ct),
///     new ResilienceOptions { Retries = 5, RateLimit = 10 }.RetryOnException&lt;HttpRequestException&gt;());
/// var user = await getUser(42, cancellationToken);
/// </code>
/// </example>
/// <remarks>
/// When every attempt fails, the call throws <see cref="AllAttemptsFailedException"/> listing each error, or
/// returns <c>orElse</c>'s value when one is given. An exception that <see cref="ResilienceOptions.RetryOn"/>
/// does not accept is thrown as it is, at once; so is the caller's own cancellation.
/// </remarks>
public static class Resilient
{
    private static readonly int[] NoFallback = [0];

    /// <summary>Wraps a parameterless async function.</summary>
    /// <param name="fn">The function.</param>
    /// <param name="options">The resilience settings; defaults when null (3 retries, no rate limit).</param>
    /// <param name="orElse">Supplies the result when every attempt failed; by default the exception is thrown.</param>
    /// <returns>A resilient function with the same signature.</returns>
    public static Func<CancellationToken, Task<T>> Wrap<T>(
        Func<CancellationToken, Task<T>> fn, ResilienceOptions? options = null, Func<AllAttemptsFailedException, T>? orElse = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var call = new ResilientCall<T>(options ?? new(), ArgumentKeys.Prefix(fn), hasArguments: false);
        return ct => OrElse(call.ExecuteAsync(null, NoFallback, (_, t) => fn(t), ct), orElse);
    }

    /// <summary>Wraps an async function of one argument.</summary>
    /// <param name="fn">The function.</param>
    /// <param name="options">The resilience settings; defaults when null.</param>
    /// <param name="keyFn">
    /// Maps the argument to a key, used by single-flight, memoization and the per-argument rate limit. Optional
    /// when <typeparamref name="TArg"/> has an exact text form (string, number, Guid, date, enum, bool, char)
    /// or when none of those features is on.
    /// </param>
    /// <param name="orElse">Supplies the result when every attempt failed; by default the exception is thrown.</param>
    /// <returns>A resilient function with the same signature.</returns>
    /// <exception cref="ArgumentException">An option is invalid, or a key is needed and cannot be derived.</exception>
    public static Func<TArg, CancellationToken, Task<T>> Wrap<TArg, T>(
        Func<TArg, CancellationToken, Task<T>> fn,
        ResilienceOptions? options = null,
        Func<TArg, string>? keyFn = null,
        Func<AllAttemptsFailedException, T>? orElse = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var call = new ResilientCall<T>(options ?? new(), ArgumentKeys.Prefix(fn), hasArguments: true);
        var key = KeyFunction(call, keyFn);
        return (arg, ct) => OrElse(call.ExecuteAsync(key?.Invoke(arg), NoFallback, (_, t) => fn(arg, t), ct), orElse);
    }

    /// <summary>Wraps an async function of two arguments.</summary>
    /// <param name="fn">The function.</param>
    /// <param name="options">The resilience settings; defaults when null.</param>
    /// <param name="keyFn">Maps the arguments to a key; optional under the rule of the one-argument <c>Wrap</c>.</param>
    /// <param name="orElse">Supplies the result when every attempt failed; by default the exception is thrown.</param>
    /// <returns>A resilient function with the same signature.</returns>
    public static Func<TArg1, TArg2, CancellationToken, Task<T>> Wrap<TArg1, TArg2, T>(
        Func<TArg1, TArg2, CancellationToken, Task<T>> fn,
        ResilienceOptions? options = null,
        Func<TArg1, TArg2, string>? keyFn = null,
        Func<AllAttemptsFailedException, T>? orElse = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var call = new ResilientCall<T>(options ?? new(), ArgumentKeys.Prefix(fn), hasArguments: true);
        var key = KeyFunction(call, keyFn);
        return (a, b, ct) => OrElse(call.ExecuteAsync(key?.Invoke(a, b), NoFallback, (_, t) => fn(a, b, t), ct), orElse);
    }

    /// <summary>
    /// Wraps a parameterless function that takes a fallback value (an API key, a base address, a replica).
    /// Each attempt tries the values in order until one succeeds; the whole list failing counts as one
    /// attempt, after which the next retry starts again from the first value.
    /// </summary>
    /// <param name="fn">The function; receives the current fallback value.</param>
    /// <param name="fallbackValues">The values, in the order to try them. Copied; must not be empty.</param>
    /// <param name="options">The resilience settings; defaults when null.</param>
    /// <param name="orElse">Supplies the result when every attempt failed; by default the exception is thrown.</param>
    /// <returns>A resilient function.</returns>
    /// <exception cref="ArgumentException"><paramref name="fallbackValues"/> is empty, or an option is invalid.</exception>
    public static Func<CancellationToken, Task<T>> WithFallback<TFallback, T>(
        Func<TFallback, CancellationToken, Task<T>> fn,
        IEnumerable<TFallback> fallbackValues,
        ResilienceOptions? options = null,
        Func<AllAttemptsFailedException, T>? orElse = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var values = FallbackList(fallbackValues);
        var call = new ResilientCall<T>(options ?? new(), ArgumentKeys.Prefix(fn), hasArguments: false);
        return ct => OrElse(call.ExecuteAsync(null, values, fn, ct), orElse);
    }

    /// <summary>
    /// Wraps a function of one argument that also takes a fallback value; see
    /// <see cref="WithFallback{TFallback, T}(Func{TFallback, CancellationToken, Task{T}}, IEnumerable{TFallback}, ResilienceOptions?, Func{AllAttemptsFailedException, T}?)"/>
    /// for the order in which values are tried.
    /// </summary>
    /// <param name="fn">The function; receives the argument and the current fallback value.</param>
    /// <param name="fallbackValues">The values, in the order to try them. Copied; must not be empty.</param>
    /// <param name="options">The resilience settings; defaults when null.</param>
    /// <param name="keyFn">Maps the argument to a key; optional under the rule of the one-argument <c>Wrap</c>.</param>
    /// <param name="orElse">Supplies the result when every attempt failed; by default the exception is thrown.</param>
    /// <returns>A resilient function of the argument.</returns>
    /// <exception cref="ArgumentException"><paramref name="fallbackValues"/> is empty, or an option is invalid.</exception>
    public static Func<TArg, CancellationToken, Task<T>> WithFallback<TArg, TFallback, T>(
        Func<TArg, TFallback, CancellationToken, Task<T>> fn,
        IEnumerable<TFallback> fallbackValues,
        ResilienceOptions? options = null,
        Func<TArg, string>? keyFn = null,
        Func<AllAttemptsFailedException, T>? orElse = null)
    {
        ArgumentNullException.ThrowIfNull(fn);
        var values = FallbackList(fallbackValues);
        var call = new ResilientCall<T>(options ?? new(), ArgumentKeys.Prefix(fn), hasArguments: true);
        var key = KeyFunction(call, keyFn);
        return (arg, ct) => OrElse(call.ExecuteAsync(key?.Invoke(arg), values, (value, t) => fn(arg, value, t), ct), orElse);
    }

    private static TFallback[] FallbackList<TFallback>(IEnumerable<TFallback> fallbackValues)
    {
        ArgumentNullException.ThrowIfNull(fallbackValues);
        TFallback[] values = [.. fallbackValues];
        if (values.Length == 0)
        {
            throw new ArgumentException("The fallback list is empty: give at least one value to try.", nameof(fallbackValues));
        }

        return values;
    }

    private static Func<TArg, string>? KeyFunction<T, TArg>(ResilientCall<T> call, Func<TArg, string>? keyFn)
    {
        if (!call.NeedsKey)
        {
            return null;
        }

        if (keyFn is null)
        {
            // The default key is "|length:text"; the engine adds its own separator after the name.
            var text = ArgumentKeys.Default<TArg>(string.Empty, nameof(keyFn));
            keyFn = arg => text(arg)[1..];
        }

        return arg => ArgumentKeys.Checked(keyFn(arg));
    }

    private static Func<TArg1, TArg2, string>? KeyFunction<T, TArg1, TArg2>(ResilientCall<T> call, Func<TArg1, TArg2, string>? keyFn)
    {
        if (!call.NeedsKey)
        {
            return null;
        }

        if (keyFn is null)
        {
            var first = ArgumentKeys.Default<TArg1>(string.Empty, nameof(keyFn));
            var second = ArgumentKeys.Default<TArg2>(string.Empty, nameof(keyFn));
            keyFn = (a, b) => first(a)[1..] + second(b);
        }

        return (a, b) => ArgumentKeys.Checked(keyFn(a, b));
    }

    private static Task<T> OrElse<T>(Task<T> call, Func<AllAttemptsFailedException, T>? orElse)
    {
        return orElse is null ? call : Recover(call, orElse);

        static async Task<T> Recover(Task<T> call, Func<AllAttemptsFailedException, T> orElse)
        {
            try
            {
                return await call.ConfigureAwait(false);
            }
            catch (AllAttemptsFailedException ex)
            {
                return orElse(ex);
            }
        }
    }
}
