namespace Coalesce;

// Flights whose leader settles them itself, and which are the leader's own object: the ASP.NET middleware's request
// flights derive from LedFlight<T>, so a request that leads pays for one flight object and its map entry, nothing more.
// Their leaders count them (the middleware counts each request on its endpoint); they are not in GetStats().
public sealed partial class SharedCall
{
    /// <summary>
    /// Starts <paramref name="candidate"/> as the flight for its key, or finds the flight in progress and joins it.
    /// </summary>
    /// <returns>
    /// <see langword="true"/> when <paramref name="candidate"/> leads (its owner must settle it, with
    /// <see cref="LedFlight{T}.TrySucceed"/> or <see cref="LedFlight{T}.TryFail"/>); otherwise <paramref name="running"/>
    /// is the flight joined, whose <see cref="LedFlight{T}.Outcome"/> the caller waits for.
    /// </returns>
    /// <exception cref="InvalidOperationException">The key is in flight with another result type.</exception>
    internal bool TryLead<T>(LedFlight<T> candidate, out LedFlight<T> running)
    {
        // One lookup (and one hash of the key) whichever way it goes: most keys are unique, and lead.
        candidate.Owner = this;
        var flight = _flights.GetOrAdd(candidate.Key, candidate);
        if (ReferenceEquals(flight, candidate))
        {
            running = candidate;
            return true;
        }

        running = flight as LedFlight<T> ?? throw MismatchedType(candidate.Key, flight, typeof(T));
        return false;
    }

    /// <summary>
    /// Joins the led flight in progress for <paramref name="key"/>, if there is one, without ever starting one: for
    /// callers that may wait for someone else's execution but must not lead one themselves.
    /// </summary>
    internal bool TryFollow<T>(string key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LedFlight<T>? running)
    {
        running = _flights.TryGetValue(key, out var existing) ? existing as LedFlight<T> : null;
        return running is not null;
    }

    private static InvalidOperationException MismatchedType(string key, Flight existing, Type wanted) => new(
        $"The key '{key}' is in flight with result type '{existing.ResultType}', and cannot be joined as '{wanted}'. Use distinct keys for distinct result types.");

    /// <summary>
    /// A flight its leader settles itself, once: the bookkeeping (the key leaves the map), then its
    /// followers, on the settling thread. The task followers wait on is made only when the first of them asks for it,
    /// so a flight nobody joins (most of them, with unique keys) allocates nothing beyond itself.
    /// </summary>
    /// <typeparam name="T">The result type.</typeparam>
    internal abstract class LedFlight<T>(string key) : Flight(key)
    {
        private const int Running = 0;
        private const int Settling = 1;
        private const int Settled = 2;

        private TaskCompletionSource<T>? _outcome;
        private int _state;
        private T? _value;
        private Exception? _error;

        public sealed override Type ResultType => typeof(T);

        /// <summary>Whether the flight's outcome is decided (settled, or being settled on another thread).</summary>
        public bool IsSettled => Volatile.Read(ref _state) != Running;

        /// <summary>The flight's outcome, shared by every follower; made on first use, and complete once settled.</summary>
        public Task<T> Outcome
        {
            get
            {
                if (Volatile.Read(ref _outcome) is { } existing)
                {
                    return existing.Task;
                }

                var created = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
                var outcome = Interlocked.CompareExchange(ref _outcome, created, null) ?? created;

                // Made after the leader settled (it found no task to complete): complete it from what it kept. Either
                // the leader sees this task after its settling (both sides fence), or this sees the settling here.
                if (Volatile.Read(ref _state) == Settled)
                {
                    Publish(outcome);
                }

                return outcome.Task;
            }
        }

        internal SharedCall? Owner { get; set; }

        /// <summary>Ends the flight with <paramref name="value"/>; <see langword="false"/> when it had ended already.</summary>
        public bool TrySucceed(T value)
        {
            if (Interlocked.CompareExchange(ref _state, Settling, Running) != Running)
            {
                return false;
            }

            _value = value;
            Settle();
            return true;
        }

        /// <summary>Ends the flight with <paramref name="error"/>; <see langword="false"/> when it had ended already.</summary>
        public bool TryFail(Exception error)
        {
            if (Interlocked.CompareExchange(ref _state, Settling, Running) != Running)
            {
                return false;
            }

            _error = error;
            Settle();
            return true;
        }

        private void Settle()
        {
            Owner!.Detach(this);
            Interlocked.Exchange(ref _state, Settled);
            if (Volatile.Read(ref _outcome) is { } outcome)
            {
                Publish(outcome);
            }
        }

        private void Publish(TaskCompletionSource<T> outcome)
        {
            if (_error is { } error)
            {
                outcome.TrySetException(error);
            }
            else
            {
                outcome.TrySetResult(_value!);
            }
        }
    }
}
