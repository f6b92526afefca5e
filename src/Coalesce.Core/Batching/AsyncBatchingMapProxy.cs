using System.Diagnostics.CodeAnalysis;

namespace Coalesce;

/// <summary>
/// Maps items through an asynchronous batch function with de-duplication, a result cache and a concurrency bound
/// (openaivec's <c>AsyncBatchingMapProxy</c>). Overlapping <see cref="MapAsync"/> calls never compute one item twice:
/// an item another call is computing is awaited, not recomputed.
/// </summary>
/// <typeparam name="TIn">The input; compared with <see cref="EqualityComparer{T}.Default"/>.</typeparam>
/// <typeparam name="TOut">The output, cached by reference.</typeparam>
/// <remarks>
/// <para>
/// Errors: an exception from the map function (or a wrong number of outputs) reaches every call waiting on that
/// batch's items; nothing of the batch is cached and its items are released, so the next call retries them.
/// </para>
/// <para>
/// Cancellation: a caller's token ends only that caller's wait. A batch's own token is cancelled only when every
/// call waiting on it has cancelled, so one caller leaving never fails a batch that others wait on.
/// </para>
/// </remarks>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "SemaphoreSlim holds no native resource unless its wait handle is read, which this type never does; a proxy is usually long-lived and shared.")]
public sealed class AsyncBatchingMapProxy<TIn, TOut>
    where TIn : notnull
{
    private readonly BatchCoordinator<TIn, TOut> _coordinator;
    private readonly SemaphoreSlim _concurrency;

    /// <summary>Creates a proxy with an unbounded cache.</summary>
    /// <param name="batchSize">The most items per call of the map function; <see langword="null"/> or ≤ 0 for one call.</param>
    /// <param name="maxConcurrency">The most concurrent calls of the map function across overlapping calls; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxConcurrency"/> is less than 1.</exception>
    public AsyncBatchingMapProxy(int? batchSize = null, int maxConcurrency = 8)
        : this(new BatchingMapProxyOptions { BatchSize = batchSize, MaxConcurrency = ValidConcurrency(maxConcurrency) })
    {
    }

    /// <summary>Creates a proxy with a bounded and/or expiring cache.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public AsyncBatchingMapProxy(BatchingMapProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _coordinator = new BatchCoordinator<TIn, TOut>(options);
        MaxConcurrency = options.MaxConcurrency;
        _concurrency = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
    }

    /// <summary>The batch size in use; <see langword="null"/> when every item goes in one call.</summary>
    public int? BatchSize => _coordinator.BatchSize;

    /// <summary>The most concurrent calls of the map function.</summary>
    public int MaxConcurrency { get; }

    /// <summary>The number of cached results.</summary>
    public int CachedCount => _coordinator.CachedCount;

    /// <summary>Forgets every cached result. Items in flight finish and are stored as usual.</summary>
    public void Clear() => _coordinator.Clear();

    /// <summary>Maps <paramref name="items"/>: outputs in input order, duplicates filled, each distinct item computed at most once.</summary>
    /// <param name="items">The inputs; none may be null.</param>
    /// <param name="mapFunc">Maps a batch of distinct inputs to exactly one output each, in order.</param>
    /// <param name="cancellationToken">Ends this call's wait only; see the remarks on the class.</param>
    /// <exception cref="InvalidOperationException"><paramref name="mapFunc"/> returned a different number of outputs than inputs.</exception>
    public async Task<IReadOnlyList<TOut>> MapAsync(
        IReadOnlyList<TIn> items,
        Func<IReadOnlyList<TIn>, CancellationToken, Task<IReadOnlyList<TOut>>> mapFunc,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(mapFunc);
        cancellationToken.ThrowIfCancellationRequested();
        var (unique, slots) = BatchCoordinator<TIn, TOut>.Deduplicate(items);
        var plan = _coordinator.Prepare(unique, cancellationToken.CanBeCanceled);
        foreach (var batch in plan.Owned)
        {
            _ = _coordinator.RunAsync(batch, mapFunc, _concurrency);
        }

        if (plan.Waits.Count > 0)
        {
            try
            {
                await Task.WhenAll(plan.Waits.Select(static w => w.Task)).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                _coordinator.Leave(plan);
                throw;
            }

            foreach (var (index, task) in plan.Waits)
            {
                plan.Values[index] = task.Result;
            }
        }

        return BatchCoordinator<TIn, TOut>.Arrange(plan.Values, slots);
    }

    private static int ValidConcurrency(int maxConcurrency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxConcurrency, 1);
        return maxConcurrency;
    }
}
