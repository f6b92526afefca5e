using Coalesce.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Coalesce;

/// <summary>
/// Runs a function over many items with a fixed number of workers, per-item timeout and resilience, and
/// progress reporting — the .NET form of opero's <c>@opmap</c>. Per-item failures are collected in the
/// result, never lost, and by default do not stop the other items.
/// </summary>
/// <remarks>
/// Workers run on the thread pool, which serves both I/O-bound (async) and CPU-bound (synchronous) work;
/// .NET has no global interpreter lock, so there is no separate process mode. For CPU-bound work, set
/// <see cref="ParallelMapOptions.Workers"/> near <see cref="Environment.ProcessorCount"/>.
/// </remarks>
public static class ParallelMap
{
    /// <summary>Runs an async function over every item.</summary>
    /// <param name="items">The items; read once, up front.</param>
    /// <param name="fn">The work for one item. Its token is cancelled by the item timeout, by the caller, or by another item's failure under <see cref="ParallelMapOptions.StopOnFirstFailure"/>.</param>
    /// <param name="options">How to run; defaults when null (4 workers, ordered, no timeout, no retry).</param>
    /// <param name="cancellationToken">Cancels the whole run: it then throws <see cref="OperationCanceledException"/>.</param>
    /// <returns>Every item's outcome.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is outside its range.</exception>
    public static async Task<ParallelMapResult<TIn, TOut>> RunAsync<TIn, TOut>(
        IEnumerable<TIn> items,
        Func<TIn, CancellationToken, Task<TOut>> fn,
        ParallelMapOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(fn);
        options ??= new();
        options.Validate();

        var run = new Run<TIn, TOut>([.. items], Prepare(fn, options), options, cancellationToken);
        return await run.ExecuteAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Runs a synchronous (typically CPU-bound) function over every item on the thread pool.
    /// </summary>
    /// <param name="items">The items; read once, up front.</param>
    /// <param name="fn">The work for one item.</param>
    /// <param name="options">How to run; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the whole run; an item already running finishes in the background.</param>
    /// <returns>Every item's outcome.</returns>
    public static Task<ParallelMapResult<TIn, TOut>> RunAsync<TIn, TOut>(
        IEnumerable<TIn> items,
        Func<TIn, TOut> fn,
        ParallelMapOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fn);

        // WaitAsync lets a timeout or cancellation abandon work that cannot observe a token.
        return RunAsync(items, (item, ct) => Task.Run(() => fn(item), ct).WaitAsync(ct), options, cancellationToken);
    }

    private static Func<TIn, CancellationToken, Task<TOut>> Prepare<TIn, TOut>(Func<TIn, CancellationToken, Task<TOut>> fn, ParallelMapOptions options)
    {
        if (options.Resilience is { } resilience)
        {
            fn = Resilient.Wrap(fn, resilience);
        }

        if (options.ItemTimeout is { } timeout)
        {
            var pipeline = new ResiliencePipelineBuilder { TimeProvider = options.TimeProvider }.AddTimeout(timeout).Build();
            var inner = fn;
            fn = (item, ct) => pipeline.ExecuteAsync(
                static async (state, token) => await state.inner(state.item, token).ConfigureAwait(false),
                (inner, item),
                ct).AsTask();
        }

        return fn;
    }

    private sealed class Run<TIn, TOut>
    {
        private readonly TIn[] _items;
        private readonly Func<TIn, CancellationToken, Task<TOut>> _fn;
        private readonly ParallelMapOptions _options;
        private readonly CancellationToken _caller;
        private readonly ParallelMapItemResult<TIn, TOut>?[] _byIndex;
        private readonly List<ParallelMapItemResult<TIn, TOut>> _byCompletion = [];
        private readonly object _gate = new();
        private int _next = -1;
        private int _failed;
        private int _firstFailure = -1;

        public Run(TIn[] items, Func<TIn, CancellationToken, Task<TOut>> fn, ParallelMapOptions options, CancellationToken caller)
        {
            _items = items;
            _fn = fn;
            _options = options;
            _caller = caller;
            _byIndex = new ParallelMapItemResult<TIn, TOut>?[items.Length];
        }

        public async Task<ParallelMapResult<TIn, TOut>> ExecuteAsync()
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(_caller);
            var workers = new Task[Math.Min(_options.Workers, _items.Length)];
            for (var i = 0; i < workers.Length; i++)
            {
                workers[i] = Task.Run(() => WorkAsync(stop), CancellationToken.None);
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
            _caller.ThrowIfCancellationRequested();

            // Items never started because an earlier one failed under StopOnFirstFailure.
            for (var i = 0; i < _items.Length; i++)
            {
                if (_byIndex[i] is null)
                {
                    Record(new(i, _items[i], default, new OperationCanceledException(
                        $"Item {i} was not run: item {_firstFailure} failed and StopOnFirstFailure is set.")));
                }
            }

            return new(_options.Ordered ? Array.ConvertAll(_byIndex, static result => result!) : [.. _byCompletion]);
        }

        private async Task WorkAsync(CancellationTokenSource stop)
        {
            while (!stop.IsCancellationRequested)
            {
                var index = Interlocked.Increment(ref _next);
                if (index >= _items.Length)
                {
                    return;
                }

                var item = _items[index];
                try
                {
                    var value = await _fn(item, stop.Token).ConfigureAwait(false);
                    Record(new(index, item, value, null));
                }
                catch (OperationCanceledException) when (_caller.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    ResilienceLog.ParallelMapItemFailed(_options.Logger ?? NullLogger.Instance, index, ex);
                    Record(new(index, item, default, ex));
                    if (_options.StopOnFirstFailure)
                    {
                        Interlocked.CompareExchange(ref _firstFailure, index, -1);
                        await stop.CancelAsync().ConfigureAwait(false);
                    }
                }
            }
        }

        private void Record(ParallelMapItemResult<TIn, TOut> result)
        {
            lock (_gate)
            {
                _byIndex[result.Index] = result;
                _byCompletion.Add(result);
                if (!result.Succeeded)
                {
                    _failed++;
                }

                // Reported under the lock so that a consumer sees Completed grow one by one.
                _options.Progress?.Report(new ParallelMapProgress(_byCompletion.Count, _failed, _items.Length));
            }
        }
    }
}
