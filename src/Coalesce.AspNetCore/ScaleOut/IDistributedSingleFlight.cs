namespace Coalesce.AspNetCore;

/// <summary>
/// One execution per key across every instance of the app. Registered by a scale-out package (for example
/// <c>AddStackExchangeRedisCoalescing</c>); absent when the app runs in-process only.
/// </summary>
/// <remarks>
/// <para>
/// Asked by a local leader after a local miss (and, for memoized endpoints, a second-level miss), so each instance
/// has at most one request per key asking at a time; its local followers wait with it. The answer is one of: this
/// instance leads (it holds a lease, runs the endpoint and completes the lease with what it may share); another
/// instance's result, rendered while this one waited; another instance's response could not be shared (run here,
/// and let the key pass through); or run here as without scale-out (the shared store can't say, or the wait
/// reached its timeout).
/// </para>
/// <para>
/// No member throws because the shared store is down or slow: the answer is then to run here, within the store's
/// budget. Only the caller's own cancellation throws.
/// </para>
/// </remarks>
internal interface IDistributedSingleFlight
{
    /// <summary>Whether it is in use; <see langword="false"/> when the app turned it off (then it is never asked).</summary>
    bool Enabled { get; }

    /// <summary>
    /// Leads the key's execution across instances, or waits for the instance that does, at most
    /// <paramref name="waitTimeout"/>.
    /// </summary>
    /// <param name="key">The request key.</param>
    /// <param name="tags">The tags the result would be stored with; an invalidation of one after the start makes it stale.</param>
    /// <param name="memoized">Whether the endpoint memoizes: a valid second-level entry then answers too.</param>
    /// <param name="waitTimeout">The longest wait for another instance's result.</param>
    /// <param name="cancellationToken">The request's abort: ends the wait by throwing.</param>
    ValueTask<DistributedFlight> LeadOrWaitAsync(
        string key, IReadOnlyCollection<string> tags, bool memoized, TimeSpan waitTimeout, CancellationToken cancellationToken);
}

/// <summary>What a local leader does, as <see cref="IDistributedSingleFlight.LeadOrWaitAsync"/> answered.</summary>
internal enum DistributedFlightKind
{
    /// <summary>Run the endpoint here as without scale-out: the shared store can't say, or the wait timed out.</summary>
    RunHere,

    /// <summary>This instance leads: run the endpoint and complete <see cref="DistributedFlight.Lease"/>.</summary>
    Lead,

    /// <summary>A valid second-level entry exists (another instance stored it): read it from the second level.</summary>
    Stored,

    /// <summary>Another instance's response for this execution, in <see cref="DistributedFlight.Payload"/>.</summary>
    Filled,

    /// <summary>
    /// Another instance's response could not be shared: run here, and let the key pass through for
    /// <see cref="DistributedFlight.PassThrough"/>.
    /// </summary>
    Pass,
}

/// <summary>The answer of <see cref="IDistributedSingleFlight.LeadOrWaitAsync"/>.</summary>
/// <param name="Kind">What to do.</param>
/// <param name="Lease">With <see cref="DistributedFlightKind.Lead"/>: the lease to complete.</param>
/// <param name="Payload">With <see cref="DistributedFlightKind.Filled"/>: the response, as <see cref="CapturedResponseFormatter"/> wrote it.</param>
/// <param name="PassThrough">With <see cref="DistributedFlightKind.Pass"/>: how long the key passes through here.</param>
internal readonly record struct DistributedFlight(
    DistributedFlightKind Kind, IDistributedLease? Lease = null, byte[]? Payload = null, TimeSpan PassThrough = default)
{
    public static DistributedFlight RunHere => default;
}

/// <summary>
/// This instance's lease on a key's execution: held while the endpoint runs (renewed in the background), and
/// completed once with what the other instances' waiters get.
/// </summary>
/// <remarks>
/// Most executions are waited for by nobody elsewhere (unique keys): the leader then needs no copy of its response,
/// and the lease ends without sending one. <see cref="WhenWaitedFor"/> says when another instance starts waiting.
/// </remarks>
internal interface IDistributedLease
{
    /// <summary>
    /// The shared invalidation seq when the lease was won, before the endpoint ran: the result is stale if one of
    /// its tags was invalidated after it.
    /// </summary>
    long StartSeq { get; }

    /// <summary>
    /// Calls <paramref name="callback"/> once when another instance waits for this execution (at once if one already
    /// does), so the leader keeps a copy of its response for it. Best effort: a waiter that arrives as the execution
    /// ends may not be seen in time, and then leads after it.
    /// </summary>
    void WhenWaitedFor(Action<object?> callback, object? state);

    /// <summary>
    /// Stops renewing, shares <paramref name="completion"/> (unless it is stale), gives the lease up and tells the
    /// waiting instances. Never throws; a second call does nothing.
    /// </summary>
    Task CompleteAsync(DistributedCompletion completion);
}

/// <summary>How a lease ends.</summary>
internal enum DistributedCompletionKind
{
    /// <summary>Nothing to share (an exception, an aborted or invalidated execution): the next waiting instance leads.</summary>
    Release,

    /// <summary>A memoized response: stored in the second level for <see cref="DistributedCompletion.Duration"/>.</summary>
    Store,

    /// <summary>A response for the waiting instances only (if any), kept a few seconds for them.</summary>
    Fill,

    /// <summary>
    /// A response that must not be shared: the waiting instances run their own, and the key passes through on
    /// every instance for <see cref="DistributedCompletion.Duration"/>.
    /// </summary>
    Pass,
}

/// <summary>What a lease shares when it completes.</summary>
/// <param name="Kind">How it ends.</param>
/// <param name="Render">
/// With <see cref="DistributedCompletionKind.Store"/> and <see cref="DistributedCompletionKind.Fill"/>: writes the
/// response as <see cref="CapturedResponseFormatter"/> does; called only when the bytes are sent (a fill only when an
/// instance waits for it).
/// </param>
/// <param name="Duration">The entry's time to live (<see cref="DistributedCompletionKind.Store"/>) or the pass-through (<see cref="DistributedCompletionKind.Pass"/>).</param>
internal readonly record struct DistributedCompletion(DistributedCompletionKind Kind, Func<byte[]>? Render = null, TimeSpan Duration = default)
{
    public static DistributedCompletion Release => default;
}
