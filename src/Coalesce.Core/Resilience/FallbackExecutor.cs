using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;

namespace Coalesce.Resilience;

/// <summary>
/// Tries an action with each fallback value in order until one succeeds; the whole list failing is one
/// attempt, which fails with the last value's exception. Every value's error is added to the caller's list
/// (for <see cref="AllAttemptsFailedException"/>). Generic over the value type: API keys, replicas, base
/// <see cref="Uri"/>s.
/// </summary>
internal static class FallbackExecutor
{
    /// <param name="values">The values, tried in order. Must not be empty.</param>
    /// <param name="action">The work for one value.</param>
    /// <param name="errors">Receives each failed value's exception, in order.</param>
    /// <param name="canTryNext">
    /// Whether an error moves on to the next value; otherwise it is rethrown at once. The caller's own
    /// cancellation always stops.
    /// </param>
    /// <param name="onFallback">Called with the failed value's index before the next value is tried.</param>
    /// <param name="cancellationToken">The caller's token.</param>
    public static async ValueTask<T> ExecuteAsync<TValue, T>(
        IReadOnlyList<TValue> values,
        Func<TValue, CancellationToken, ValueTask<T>> action,
        ICollection<Exception> errors,
        Func<Exception, bool> canTryNext,
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
            try
            {
                return await action(values[i], cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                lock (errors)
                {
                    errors.Add(ex);
                }

                if (i == values.Count - 1 || !canTryNext(ex))
                {
                    ExceptionDispatchInfo.Throw(ex);
                }

                onFallback?.Invoke(i, ex);
            }
        }
    }

    /// <summary>
    /// The error for a call whose every attempt failed: the errors collected so far, in order, plus
    /// <paramref name="last"/> when it never reached the list (a total timeout fires outside any one attempt).
    /// Counts the failure on the meter and logs it.
    /// </summary>
    public static AllAttemptsFailedException AllFailed(List<Exception> errors, Exception last, string name, string layer, ILogger logger)
    {
        Exception[] all;
        lock (errors)
        {
            all = errors.Contains(last) ? [.. errors] : [.. errors, last];
        }

        ResilienceMetrics.Failure(name, layer);
        ResilienceLog.AllAttemptsFailed(logger, name, all.Length, last);
        return new AllAttemptsFailedException(all);
    }
}
