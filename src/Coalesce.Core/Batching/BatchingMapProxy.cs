namespace Coalesce;

/// <summary>
/// Maps items through a batch function with de-duplication and a result cache (openaivec's <c>BatchingMapProxy</c>).
/// Thread-safe: overlapping <see cref="Map"/> calls on several threads never compute one item twice.
/// </summary>
/// <typeparam name="TIn">The input; compared with <see cref="EqualityComparer{T}.Default"/>.</typeparam>
/// <typeparam name="TOut">The output, cached by reference.</typeparam>
/// <remarks>
/// A call serves cached items, waits (blocking) for items another thread is computing, and runs the rest itself in
/// batches on the calling thread. It runs all its own batches before it waits on others, so two overlapping calls
/// cannot deadlock. A failing batch stores nothing and its exception reaches every call waiting on its items.
/// </remarks>
public sealed class BatchingMapProxy<TIn, TOut>
    where TIn : notnull
{
    private readonly BatchCoordinator<TIn, TOut> _coordinator;

    /// <summary>Creates a proxy with an unbounded cache.</summary>
    /// <param name="batchSize">The most items per call of the map function; <see langword="null"/> or ≤ 0 for one call.</param>
    public BatchingMapProxy(int? batchSize = null)
        : this(new BatchingMapProxyOptions { BatchSize = batchSize })
    {
    }

    /// <summary>Creates a proxy with a bounded and/or expiring cache.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
    public BatchingMapProxy(BatchingMapProxyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _coordinator = new BatchCoordinator<TIn, TOut>(options);
    }

    /// <summary>The batch size in use; <see langword="null"/> when every item goes in one call.</summary>
    public int? BatchSize => _coordinator.BatchSize;

    /// <summary>The number of cached results.</summary>
    public int CachedCount => _coordinator.CachedCount;

    /// <summary>Forgets every cached result. Items in flight finish and are stored as usual.</summary>
    public void Clear() => _coordinator.Clear();

    /// <summary>Maps <paramref name="items"/>: outputs in input order, duplicates filled, each distinct item computed at most once.</summary>
    /// <param name="items">The inputs; none may be null.</param>
    /// <param name="mapFunc">Maps a batch of distinct inputs to exactly one output each, in order.</param>
    /// <exception cref="InvalidOperationException"><paramref name="mapFunc"/> returned a different number of outputs than inputs.</exception>
    public IReadOnlyList<TOut> Map(IReadOnlyList<TIn> items, Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> mapFunc)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(mapFunc);
        var (unique, slots) = BatchCoordinator<TIn, TOut>.Deduplicate(items);
        var plan = _coordinator.Prepare(unique, abandonable: false);
        foreach (var batch in plan.Owned)
        {
            _coordinator.Run(batch, mapFunc);
        }

        // Only now wait on other threads' batches: our own are done, so nobody can be waiting on us.
        foreach (var (index, task) in plan.Waits)
        {
            plan.Values[index] = task.GetAwaiter().GetResult();
        }

        return BatchCoordinator<TIn, TOut>.Arrange(plan.Values, slots);
    }
}
