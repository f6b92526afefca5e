using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>
/// One execution shared by the requests of a key: its outcome, the followers ready to take over if the leader's
/// client goes away, and what invalidations must know about it. It is the <see cref="SharedCall"/> flight itself,
/// settled directly by whoever settles it, so the flight ends when the outcome is set — which may be before the
/// leader's own response ends (a streaming leader releases its followers at its first byte). A flight nobody joins
/// costs this object and its map entry: the task followers wait on is made by the first of them.
/// </summary>
/// <remarks>
/// Take-over is a hand-over, not a race: when a leader's client goes away, exactly one waiting follower (whose own
/// client is still there) is told to lead, and runs the endpoint for the same flight; the others keep waiting on
/// the same outcome, however fast the new run is.
/// </remarks>
internal sealed class RequestFlight(string key, string[] tags, string endpointName) : SharedCall.LedFlight<FlightOutcome>(key)
{
    // The lock for the successor line is this object: private to the middleware, and no extra object per flight.
    private LinkedList<Successor>? _successors;
    private volatile bool _invalidated;
    private int _followers;
    private FlightBody? _body;
    private TaskCompletionSource<FlightBody>? _bodyStarted;
    private volatile bool _wantsBody;

    /// <summary>The endpoint's name, for logs.</summary>
    public string EndpointName { get; } = endpointName;

    /// <summary>The tags a response of this flight would be memoized with, resolved before it ran.</summary>
    public string[] Tags { get; } = tags;

    /// <summary>
    /// Whether an invalidation covering this flight happened after it started: its result was computed from data
    /// read before a write, and must not be kept.
    /// </summary>
    public bool Invalidated => _invalidated;

    public void Invalidate() => _invalidated = true;

    /// <summary>Whether <see cref="RequestFlights"/> watches it for invalidations; set and read by its leader only.</summary>
    public bool Watched { get; set; }

    /// <summary>
    /// Whether anyone joined to wait for this flight. A leader asks this to skip preparing a shareable result
    /// nobody waits for; a request that joins in that last instant runs on its own.
    /// </summary>
    public bool HasFollowers => Volatile.Read(ref _followers) > 0;

    /// <summary>
    /// Starts this flight for its key, or finds the one in progress. <see langword="true"/> when this flight leads;
    /// otherwise <paramref name="running"/> is the flight to follow (its <see cref="SharedCall.LedFlight{T}.Outcome"/>
    /// is what to wait for).
    /// </summary>
    public bool TryLead(SharedCall calls, out RequestFlight running)
    {
        var leads = calls.TryLead(this, out var flight);
        running = (RequestFlight)flight;
        return leads;
    }

    public void AddFollower() => Interlocked.Increment(ref _followers);

    /// <summary>
    /// For a follower that can stream: completes when the leader's response has started and its body streams to
    /// followers (it may never: then the outcome comes first). Asking tells a leader that is already writing to start
    /// streaming at its next write (<see cref="WantsBody"/>).
    /// </summary>
    public Task<FlightBody> BodyStarted
    {
        get
        {
            lock (this)
            {
                if (_body is not null)
                {
                    return Task.FromResult(_body);
                }

                _wantsBody = true;
                return (_bodyStarted ??= new TaskCompletionSource<FlightBody>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
        }
    }

    /// <summary>
    /// Whether a follower waits for the body to stream: a leader that began writing before anyone joined starts
    /// streaming (from the first byte, out of its copy) at its next write.
    /// </summary>
    public bool WantsBody => _wantsBody;

    /// <summary>The leader's response started and its body streams to followers: wakes those waiting for it.</summary>
    public void StartBody(FlightBody body)
    {
        TaskCompletionSource<FlightBody>? started;
        lock (this)
        {
            _body = body;
            started = _bodyStarted;
        }

        started?.TrySetResult(body);
    }

    /// <summary>
    /// Puts a follower in line to take over. <see langword="null"/> when the flight already has its outcome.
    /// </summary>
    /// <param name="context">The follower's request.</param>
    public Successor? Enlist(HttpContext context)
    {
        lock (this)
        {
            if (IsSettled)
            {
                return null;
            }

            var successor = new Successor(context);
            successor.Node = (_successors ??= new()).AddLast(successor);
            return successor;
        }
    }

    /// <summary>
    /// Takes a follower out of line (it stops waiting). <see langword="false"/> when it had already been chosen
    /// to lead: then it must lead (or hand over) after all.
    /// </summary>
    public bool Withdraw(Successor successor)
    {
        lock (this)
        {
            if (successor.Chosen)
            {
                return false;
            }

            if (successor.Node is { List: not null } node)
            {
                _successors!.Remove(node);
            }

            return true;
        }
    }

    /// <summary>
    /// The leader's client went away: hands the flight to the first follower whose client is still there. When
    /// there is none, the flight ends as <see cref="FlightOutcomeKind.LeaderAborted"/>.
    /// </summary>
    public void HandOver()
    {
        lock (this)
        {
            if (IsSettled)
            {
                // Its followers have their answer already (a streaming leader released them).
                return;
            }

            while (_successors?.First is { } first)
            {
                _successors.RemoveFirst();
                var next = first.Value;
                if (!next.Context.RequestAborted.IsCancellationRequested)
                {
                    next.Choose();
                    return;
                }
            }

            TrySucceed(FlightOutcome.LeaderAborted);
        }
    }

    /// <summary>A follower in line to take over, and the signal that it was chosen.</summary>
    internal sealed class Successor(HttpContext context)
    {
        private readonly TaskCompletionSource _turn = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HttpContext Context { get; } = context;

        public LinkedListNode<Successor>? Node { get; set; }

        public bool Chosen { get; private set; }

        public Task Turn => _turn.Task;

        public void Choose()
        {
            Chosen = true;
            _turn.TrySetResult();
        }
    }
}
