using System.Collections.Concurrent;

namespace Coalesce;

/// <summary>
/// Single-flight execution: while a call for a key is in flight, further callers of that key wait for
/// its result instead of running the work again. Thread-safe; one instance is usually shared by a
/// component (or use <see cref="Default"/>).
/// </summary>
/// <remarks>
/// <para>
/// The map holds only flights in progress. A flight ends when its work completes, and the key is free
/// for a new flight at once: nothing is cached. Bookkeeping (the key leaving the map, <c>Active</c> and
/// <c>Errors</c>) happens before any waiter is released.
/// </para>
/// <para>
/// On error, every waiter of the flight receives the same exception and the flight counts one error.
/// Nothing failed is kept, so the next caller runs the work again.
/// </para>
/// <para>
/// When a caller leaves: its <see cref="CancellationToken"/> ends only its own wait. The token passed to
/// the work is cancelled only once every caller of the flight has gone; such a flight is removed at once
/// and never joined again, so a new caller starts a fresh flight.
/// </para>
/// <para>
/// One key must be used with one result type at a time: a second type while a flight is running is an
/// <see cref="InvalidOperationException"/>.
/// </para>
/// </remarks>
public sealed partial class SharedCall
{
    private readonly ConcurrentDictionary<string, Flight> _flights = FlightMaps.Create<string, Flight>(StringComparer.Ordinal);
    private readonly SharedCallCounters _counters;

    /// <summary>Creates an instance with its own flights and statistics.</summary>
    public SharedCall()
        : this(new SharedCallCounters())
    {
    }

    internal SharedCall(SharedCallCounters counters)
    {
        _counters = counters;
    }

    /// <summary>A process-wide instance, for code that has no better owner for one.</summary>
    public static SharedCall Default { get; } = new();

    internal SharedCallCounters Counters => _counters;

    /// <summary>The number of keys with a flight in progress.</summary>
    public int InFlightCount => _flights.Count;

    /// <summary>
    /// Runs <paramref name="fn"/> for <paramref name="key"/>, or joins the flight already running for it.
    /// </summary>
    /// <typeparam name="T">The result type. A key carries one result type at a time.</typeparam>
    /// <param name="key">The identity of the work. Compared ordinally.</param>
    /// <param name="fn">
    /// The work. Its token is cancelled only when every caller of the flight has cancelled its wait.
    /// </param>
    /// <param name="cancellationToken">Ends this caller's wait only.</param>
    /// <returns>The flight's result, shared by every caller of the flight.</returns>
    /// <exception cref="InvalidOperationException">The key is in flight with another result type.</exception>
    public Task<T> CallAsync<T>(string key, Func<CancellationToken, Task<T>> fn, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(fn);
        return CallAsync(key, fn, static (work, token) => work(token), cancellationToken);
    }

    /// <summary>
    /// <see cref="CallAsync{T}(string, Func{CancellationToken, Task{T}}, CancellationToken)"/> with the work's inputs
    /// passed as <paramref name="state"/> to a static <paramref name="fn"/>, so a caller that joins a flight allocates
    /// no closure for work it will never run.
    /// </summary>
    internal Task<T> CallAsync<TState, T>(
        string key, TState state, Func<TState, CancellationToken, Task<T>> fn, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(fn);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<T>(cancellationToken);
        }

        var (flight, isLeader) = JoinOrStart<T>(key, cancellationToken.CanBeCanceled);
        if (isLeader)
        {
            _ = flight.RunAsync(state, fn);
        }

        return flight.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Starts or joins the flight for <paramref name="key"/> and says which. Unlike <see cref="CallAsync{T}"/>,
    /// the returned task is the flight's own: the leader must await it to the end (its work is tied to it, as
    /// the middleware's leader is tied to its own request), and a follower composes its own bounded wait
    /// (<see cref="Task{TResult}.WaitAsync(TimeSpan, TimeProvider, CancellationToken)"/>). The work's token is
    /// never cancelled.
    /// </summary>
    internal Task<T> JoinOrRun<T>(string key, Func<CancellationToken, Task<T>> fn, out bool isLeader)
    {
        var (flight, leader) = JoinOrStart<T>(key, abandonable: false);
        isLeader = leader;
        if (leader)
        {
            _ = flight.RunAsync(fn, static (work, token) => work(token));
        }

        return flight.Task;
    }

    /// <summary>
    /// Starts a flight for <paramref name="key"/> only when none is in progress, and never joins one: for background
    /// work (a cache refresh) that must run at most once at a time per key and that nobody waits for. The work's token
    /// is never cancelled; pass it one of its own through <paramref name="state"/>.
    /// </summary>
    /// <returns><see langword="true"/> with the flight's task when this call started it.</returns>
    internal bool TryStart<TState, T>(
        string key, TState state, Func<TState, CancellationToken, Task<T>> fn, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Task<T>? task)
    {
        var flight = new Flight<T>(this, key, abandonable: false);
        if (!_flights.TryAdd(key, flight))
        {
            task = null;
            return false;
        }

        _counters.Started();
        _ = flight.RunAsync(state, fn);
        task = flight.Task;
        return true;
    }

    /// <summary>
    /// Runs <paramref name="fn"/> for <paramref name="key"/> on the calling thread, or blocks until the
    /// flight already running for it completes. The leader runs the work inline; no async work is started
    /// and then waited on.
    /// </summary>
    /// <typeparam name="T">The result type. Must not be a task: use <see cref="CallAsync{T}"/> for async work.</typeparam>
    /// <param name="key">The identity of the work. Compared ordinally.</param>
    /// <param name="fn">The work.</param>
    /// <returns>The flight's result.</returns>
    public T Call<T>(string key, Func<T> fn)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(fn);
        if (typeof(Task).IsAssignableFrom(typeof(T)) || typeof(T) == typeof(ValueTask) ||
            (typeof(T).IsGenericType && typeof(T).GetGenericTypeDefinition() == typeof(ValueTask<>)))
        {
            throw new ArgumentException(
                $"Call<{typeof(T).Name}> would share only the creation of a task, not its work. Use CallAsync for asynchronous work.",
                nameof(fn));
        }

        var (flight, isLeader) = JoinOrStart<T>(key, abandonable: false);
        if (isLeader)
        {
            return flight.Run(fn);
        }

        // A follower blocks on work that another thread runs synchronously (or on an async flight that
        // another caller started); it never waits on async work of its own making.
        return flight.Task.GetAwaiter().GetResult();
    }

    /// <summary>Returns a snapshot of the statistics.</summary>
    public SharedCallStats GetStats() => _counters.Snapshot();

    /// <summary>
    /// Sets hits, misses and errors to zero. <c>Active</c> reflects flights in progress and is kept.
    /// </summary>
    public void ResetStats() => _counters.Reset();

    /// <summary>
    /// Detaches the flight for <paramref name="key"/>, if any: its callers still get its result, and the next
    /// caller starts a new flight.
    /// </summary>
    /// <returns><see langword="true"/> if a flight was detached.</returns>
    public bool Forget(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return _flights.TryRemove(key, out _);
    }

    /// <summary>Detaches every flight; see <see cref="Forget(string)"/>.</summary>
    public void ForgetAll() => _flights.Clear();

    private (Flight<T> Flight, bool IsLeader) JoinOrStart<T>(string key, bool abandonable)
    {
        while (true)
        {
            if (_flights.TryGetValue(key, out var existing))
            {
                if (existing is not Flight<T> running)
                {
                    throw MismatchedType(key, existing, typeof(T));
                }

                if (running.TryJoin())
                {
                    _counters.Hit();
                    return (running, false);
                }

                // Every caller of that flight has gone: it is doomed and must not be joined.
                _flights.TryRemove(new KeyValuePair<string, Flight>(key, existing));
                continue;
            }

            var flight = new Flight<T>(this, key, abandonable);
            if (_flights.TryAdd(key, flight))
            {
                _counters.Started();
                return (flight, true);
            }
        }
    }

    /// <summary>Detaches <paramref name="flight"/> if it is still the one for its key; a newer flight is left alone.</summary>
    internal bool Detach(Flight flight) =>
        _flights.TryRemove(new KeyValuePair<string, Flight>(flight.Key, flight));

    /// <summary>A flight in the map: <see cref="Flight{T}"/> for work the flight runs, <see cref="LedFlight{T}"/> for work its leader runs.</summary>
    internal abstract class Flight(string key)
    {
        public string Key { get; } = key;

        public abstract Type ResultType { get; }
    }

    /// <summary>One execution and its callers. The result is a task that every caller awaits.</summary>
    private sealed class Flight<T> : Flight
    {
        private readonly SharedCall _owner;
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // Only a flight whose callers can all leave needs a token for its work: one caller that cannot
        // cancel keeps the work alive to the end.
        private readonly CancellationTokenSource? _abandon;

        // Callers still waiting; 0 means every caller left and the flight must not be joined.
        private int _callers = 1;

        public Flight(SharedCall owner, string key, bool abandonable)
            : base(key)
        {
            _owner = owner;
            _abandon = abandonable ? new CancellationTokenSource() : null;
        }

        public override Type ResultType => typeof(T);

        public Task<T> Task => _result.Task;

        public bool TryJoin()
        {
            var callers = Volatile.Read(ref _callers);
            while (callers > 0)
            {
                var seen = Interlocked.CompareExchange(ref _callers, callers + 1, callers);
                if (seen == callers)
                {
                    return true;
                }

                callers = seen;
            }

            return false;
        }

        public Task RunAsync<TState>(TState state, Func<TState, CancellationToken, Task<T>> fn)
        {
            var token = _abandon?.Token ?? CancellationToken.None;
            Task<T> work;
            try
            {
                work = fn(state, token);
            }
            catch (Exception ex)
            {
                work = System.Threading.Tasks.Task.FromException<T>(ex);
            }

            return AwaitAsync(work, token);
        }

        public async Task AwaitAsync(Task<T> work, CancellationToken token)
        {
            T value;
            try
            {
                value = await work.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Every caller left; nobody waits for this answer, and it is no failure of the work.
                _owner._counters.Completed(failed: false);
                _owner.Detach(this);
                _result.TrySetCanceled(token);
                return;
            }
            catch (Exception ex)
            {
                Fail(ex);
                return;
            }

            Succeed(value);
        }

        public T Run(Func<T> fn)
        {
            T value;
            try
            {
                value = fn();
            }
            catch (Exception ex)
            {
                Fail(ex);
                throw;
            }

            Succeed(value);
            return value;
        }

        public Task<T> WaitAsync(CancellationToken cancellationToken) =>
            cancellationToken.CanBeCanceled && !_result.Task.IsCompleted
                ? WaitOrLeaveAsync(cancellationToken)
                : _result.Task;

        private async Task<T> WaitOrLeaveAsync(CancellationToken cancellationToken)
        {
            try
            {
                return await _result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !_result.Task.IsCompleted)
            {
                Leave();
                throw;
            }
        }

        private void Leave()
        {
            if (Interlocked.Decrement(ref _callers) == 0 && _abandon is not null)
            {
                _owner.Detach(this);
                _abandon.Cancel();
            }
        }

        private void Succeed(T value)
        {
            _owner.Detach(this);
            _owner._counters.Completed(failed: false);
            _result.TrySetResult(value);
        }

        private void Fail(Exception error)
        {
            _owner.Detach(this);
            _owner._counters.Completed(failed: true);
            _result.TrySetException(error);
        }
    }
}
