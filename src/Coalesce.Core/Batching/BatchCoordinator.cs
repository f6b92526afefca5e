using System.Diagnostics.CodeAnalysis;

namespace Coalesce;

/// <summary>
/// The engine shared by both batching proxies: the result cache (an <see cref="LruStore{TKey, TValue}"/>), the
/// items in flight, and how one call's items are split into cached, joined and owned.
/// </summary>
/// <remarks>
/// <para>
/// Planning a call takes the lock once: an item is served from the cache, joined if another call computes it, or
/// claimed into a new batch of this call. The cache is checked again under the lock, so an item finished just before
/// is never computed twice; a claimed item cannot reach the cache by any other path, so nothing is rechecked later.
/// </para>
/// <para>
/// Completing a batch stores its results and drops its in-flight marks before any waiter is released; a failing
/// batch drops its marks and stores nothing, so the next call retries those items.
/// </para>
/// <para>
/// A batch runs with a token that is cancelled only when every call waiting on it has cancelled; a call that has
/// not cancelled keeps it alive. A batch so abandoned is unmarked at once, so new calls claim its items afresh.
/// </para>
/// </remarks>
[SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The in-memory store holds nothing to release; it is disposable only to fit the store seam.")]
internal sealed class BatchCoordinator<TIn, TOut>
    where TIn : notnull
{
    private readonly Lock _gate = new();
    private readonly Dictionary<TIn, Pending> _inFlight = [];
    private readonly LruStore<TIn, TOut> _store;
    private readonly int _batchSize;
    private readonly TimeSpan? _ttl;

    public BatchCoordinator(BatchingMapProxyOptions options)
    {
        options.Validate();
        _batchSize = options.BatchSize is > 0 and var size ? size : int.MaxValue;
        _ttl = options.Ttl;
        _store = new LruStore<TIn, TOut>(options.MaxEntries, options.TimeProvider);
        BatchSize = options.BatchSize is > 0 ? options.BatchSize : null;
    }

    public int? BatchSize { get; }

    public int CachedCount => _store.Count;

    public int InFlightCount
    {
        get { lock (_gate) { return _inFlight.Count; } }
    }

    public void Clear() => _store.RemoveWhere(static _ => true);

    /// <summary>De-duplicates <paramref name="items"/>, keeping first-occurrence order.</summary>
    public static (TIn[] Unique, int[] Slots) Deduplicate(IReadOnlyList<TIn> items)
    {
        var positions = new Dictionary<TIn, int>(items.Count);
        var unique = new List<TIn>(items.Count);
        var slots = new int[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item is null)
            {
                throw new ArgumentException($"items[{i}] is null; the batching proxies map non-null items only.", nameof(items));
            }

            if (!positions.TryGetValue(item, out var slot))
            {
                positions[item] = slot = unique.Count;
                unique.Add(item);
            }

            slots[i] = slot;
        }

        return ([.. unique], slots);
    }

    public static TOut[] Arrange(TOut[] uniqueValues, int[] slots)
    {
        var outputs = new TOut[slots.Length];
        for (var i = 0; i < slots.Length; i++)
        {
            outputs[i] = uniqueValues[slots[i]];
        }

        return outputs;
    }

    public Plan Prepare(TIn[] unique, bool abandonable)
    {
        var plan = new Plan(unique.Length);
        List<int>? missing = null;
        for (var i = 0; i < unique.Length; i++)
        {
            if (_store.TryGet(unique[i], out var value))
            {
                plan.Values[i] = value;
            }
            else
            {
                (missing ??= []).Add(i);
            }
        }

        if (missing is null)
        {
            return plan;
        }

        lock (_gate)
        {
            var claimed = new List<int>();
            foreach (var i in missing)
            {
                if (_store.TryGet(unique[i], out var value))
                {
                    plan.Values[i] = value;
                }
                else if (_inFlight.TryGetValue(unique[i], out var pending) && pending.Batch.TryJoin(plan))
                {
                    plan.Waits.Add((i, pending.Result.Task));
                }
                else
                {
                    claimed.Add(i);
                }
            }

            foreach (var chunk in claimed.Chunk(_batchSize))
            {
                var batch = new Batch([.. chunk.Select(i => unique[i])], abandonable);
                for (var j = 0; j < chunk.Length; j++)
                {
                    var pending = new Pending(batch);
                    batch.Pendings[j] = pending;
                    _inFlight[batch.Items[j]] = pending;
                    plan.Waits.Add((chunk[j], pending.Result.Task));
                }

                plan.Owned.Add(batch);
                plan.Joined.Add(batch);
            }
        }

        return plan;
    }

    /// <summary>The call behind <paramref name="plan"/> stops waiting: abandons batches nobody else waits on.</summary>
    public void Leave(Plan plan)
    {
        List<Batch>? abandoned = null;
        lock (_gate)
        {
            foreach (var batch in plan.Joined)
            {
                if (batch.Abandon is not null && --batch.Waiters == 0)
                {
                    Unmark(batch);
                    (abandoned ??= []).Add(batch);
                }
            }
        }

        foreach (var batch in abandoned ?? [])
        {
            batch.Abandon!.Cancel();
        }
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Any failure of the map function is handed to the batch's waiters.")]
    public async Task RunAsync(Batch batch, Func<IReadOnlyList<TIn>, CancellationToken, Task<IReadOnlyList<TOut>>> mapFunc, SemaphoreSlim concurrency)
    {
        var token = batch.Abandon?.Token ?? CancellationToken.None;
        try
        {
            await concurrency.WaitAsync(token).ConfigureAwait(false);
            IReadOnlyList<TOut> outputs;
            try
            {
                outputs = await mapFunc(batch.Items, token).ConfigureAwait(false);
            }
            finally
            {
                concurrency.Release();
            }

            Complete(batch, outputs);
        }
        catch (Exception ex)
        {
            Fail(batch, ex, token);
        }
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Any failure of the map function is handed to the batch's waiters.")]
    public void Run(Batch batch, Func<IReadOnlyList<TIn>, IReadOnlyList<TOut>> mapFunc)
    {
        try
        {
            Complete(batch, mapFunc(batch.Items));
        }
        catch (Exception ex)
        {
            Fail(batch, ex, CancellationToken.None);
        }
    }

    private void Complete(Batch batch, IReadOnlyList<TOut>? outputs)
    {
        if (outputs is null || outputs.Count != batch.Items.Length)
        {
            throw new InvalidOperationException(
                $"The map function returned {outputs?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null instead of"} outputs for {batch.Items.Length} inputs; expected {batch.Items.Length}: exactly one output per input, in input order.");
        }

        lock (_gate)
        {
            for (var j = 0; j < batch.Items.Length; j++)
            {
                _store.Set(batch.Items[j], outputs[j], _ttl, null);
            }

            Unmark(batch);
        }

        for (var j = 0; j < batch.Items.Length; j++)
        {
            batch.Pendings[j].Result.TrySetResult(outputs[j]);
        }
    }

    private void Fail(Batch batch, Exception error, CancellationToken token)
    {
        lock (_gate)
        {
            Unmark(batch);
        }

        foreach (var pending in batch.Pendings)
        {
            if (error is OperationCanceledException && token.IsCancellationRequested)
            {
                pending.Result.TrySetCanceled(token);
            }
            else
            {
                pending.Result.TrySetException(error);

                // A caller that left never awaits this; reading the exception keeps it from being reported as unobserved.
                _ = pending.Result.Task.Exception;
            }
        }
    }

    private void Unmark(Batch batch)
    {
        for (var j = 0; j < batch.Items.Length; j++)
        {
            if (_inFlight.TryGetValue(batch.Items[j], out var current) && ReferenceEquals(current, batch.Pendings[j]))
            {
                _inFlight.Remove(batch.Items[j]);
            }
        }
    }

    /// <summary>One call's share of the work: values found, results to wait for, and batches it runs.</summary>
    internal sealed class Plan(int size)
    {
        public TOut[] Values { get; } = new TOut[size];

        public List<(int Index, Task<TOut> Task)> Waits { get; } = [];

        public List<Batch> Owned { get; } = [];

        /// <summary>Every batch this call waits on, owned or joined; each counted once in its waiters.</summary>
        public HashSet<Batch> Joined { get; } = [];
    }

    /// <summary>One call of the map function and the calls waiting on it.</summary>
    internal sealed class Batch
    {
        public Batch(TIn[] items, bool abandonable)
        {
            Items = items;
            Pendings = new Pending[items.Length];
            Abandon = abandonable ? new CancellationTokenSource() : null;
        }

        public TIn[] Items { get; }

        public Pending[] Pendings { get; }

        /// <summary>Null when a caller that cannot cancel waits on it: then it always runs to the end.</summary>
        public CancellationTokenSource? Abandon { get; }

        /// <summary>Calls waiting on this batch; guarded by the coordinator's lock.</summary>
        public int Waiters { get; set; } = 1;

        /// <summary>Counts <paramref name="plan"/>'s call as a waiter; false if the batch was abandoned. Under the lock.</summary>
        public bool TryJoin(Plan plan)
        {
            if (plan.Joined.Contains(this))
            {
                return true;
            }

            if (Abandon is not null && Waiters == 0)
            {
                return false;
            }

            Waiters++;
            plan.Joined.Add(this);
            return true;
        }
    }

    internal sealed class Pending(Batch batch)
    {
        public Batch Batch { get; } = batch;

        public TaskCompletionSource<TOut> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
