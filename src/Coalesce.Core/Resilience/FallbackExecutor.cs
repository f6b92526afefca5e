using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Polly;

namespace Coalesce.Resilience;

/// <summary>
/// Tries an action with each fallback value in order until one succeeds; the whole list failing is one
/// attempt, which ends with the last value's outcome (its exception rethrown, or its result returned). Every
/// failed value's error is added to the caller's list (for <see cref="AllAttemptsFailedException"/>). Generic over
/// the value type: API keys, replicas, base <see cref="Uri"/>s.
/// </summary>
internal static class FallbackExecutor
{
    /// <summary>Tries the values in order while the action throws an exception <paramref name="canTryNext"/> accepts.</summary>
    /// <param name="values">The values, tried in order. Must not be empty.</param>
    /// <param name="action">The work for one value.</param>
    /// <param name="errors">Receives each failed value's exception, in order.</param>
    /// <param name="canTryNext">
    /// Whether an error moves on to the next value; otherwise it is rethrown at once. The caller's own
    /// cancellation always stops.
    /// </param>
    /// <param name="onFallback">Called with the failed value's index before the next value is tried.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    public static ValueTask<T> ExecuteAsync<TValue, T>(
        IReadOnlyList<TValue> values,
        Func<TValue, CancellationToken, ValueTask<T>> action,
        ICollection<Exception> errors,
        Func<Exception, bool> canTryNext,
        Action<int, Exception>? onFallback,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(canTryNext);
        return ExecuteAsync(
            values, action, errors, outcome => new(outcome.Exception is { } error && canTryNext(error)), failedResult: null, onFallback, cancellationToken);
    }

    /// <summary>
    /// Tries the values in order while the outcome — an exception or a result, such as an HTTP response with a
    /// failing status — is one <paramref name="canTryNext"/> accepts. A failed result that is passed over is
    /// recorded as <paramref name="failedResult"/>'s exception and disposed (when disposable); the last value's
    /// result is returned as it is.
    /// </summary>
    /// <param name="values">The values, tried in order. Must not be empty.</param>
    /// <param name="action">The work for one value.</param>
    /// <param name="errors">Receives each failed value's exception, in order.</param>
    /// <param name="canTryNext">Whether an outcome moves on to the next value. The caller's own cancellation always stops.</param>
    /// <param name="failedResult">Describes a result that <paramref name="canTryNext"/> accepted; required when it accepts results.</param>
    /// <param name="onFallback">Called with the failed value's index and error before the next value is tried.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    public static async ValueTask<T> ExecuteAsync<TValue, T>(
        IReadOnlyList<TValue> values,
        Func<TValue, CancellationToken, ValueTask<T>> action,
        ICollection<Exception> errors,
        Func<Outcome<T>, ValueTask<bool>> canTryNext,
        Func<T, Exception>? failedResult,
        Action<int, Exception>? onFallback,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(action);
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(canTryNext);
        if (values.Count == 0)
        {
            throw new ArgumentException("The fallback list must hold at least one value.", nameof(values));
        }

        for (var i = 0; ; i++)
        {
            Outcome<T> outcome;
            try
            {
                outcome = Outcome.FromResult(await action(values[i], cancellationToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                outcome = Outcome.FromException<T>(ex);
                lock (errors)
                {
                    errors.Add(ex);
                }
            }

            if (i == values.Count - 1 || !await canTryNext(outcome).ConfigureAwait(false))
            {
                if (outcome.Exception is { } thrown)
                {
                    ExceptionDispatchInfo.Throw(thrown);
                }

                return outcome.Result!;
            }

            var error = outcome.Exception;
            if (error is null)
            {
                var result = outcome.Result!;
                error = (failedResult ?? throw new InvalidOperationException("A failed result needs a description to move on."))(result);
                lock (errors)
                {
                    errors.Add(error);
                }

                (result as IDisposable)?.Dispose();
            }

            onFallback?.Invoke(i, error);
        }
    }

    /// <summary>
    /// Every error of a call whose every attempt failed, in order: the errors collected so far plus
    /// <paramref name="last"/> when it never reached the list (a total timeout fires outside any one attempt).
    /// Counts the failure on the meter and logs it.
    /// </summary>
    public static Exception[] AllErrors(
        List<Exception> errors, Exception last, string name, ResilienceMetrics? metrics, string component, ILogger logger)
    {
        Exception[] all;
        lock (errors)
        {
            all = errors.Contains(last) ? [.. errors] : [.. errors, last];
        }

        metrics?.Failure(component, name);
        ResilienceLog.AllAttemptsFailed(logger, name, all.Length, last);
        return all;
    }

    /// <summary>The error for a call whose every attempt failed; see <see cref="AllErrors"/>.</summary>
    public static AllAttemptsFailedException AllFailed(
        List<Exception> errors, Exception last, string name, ResilienceMetrics? metrics, string component, ILogger logger) =>
        new(AllErrors(errors, last, name, metrics, component, logger));
}
