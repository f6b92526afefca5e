namespace Coalesce.AspNetCore;

/// <summary>
/// Tag invalidation that reaches every instance of the app. Registered by a scale-out package (for example
/// <c>AddStackExchangeRedisCoalescing</c>); absent when the app runs in-process only.
/// </summary>
/// <remarks>
/// Invalidations carry a sequence number (<em>seq</em>) that grows by one per invalidation across all instances.
/// A leader reads the seq before it runs the work (<see cref="ReadSeqAsync"/>) and stores its result with that
/// <em>startSeq</em>: a result is valid only while none of its tags was invalidated after <em>startSeq</em>.
/// No member throws because the shared store is down; they degrade to in-process behaviour instead.
/// </remarks>
internal interface IDistributedInvalidation
{
    /// <summary>
    /// The highest seq this instance has seen (its own invalidations, other instances' messages, catch-up).
    /// Never decreases, except after a catch-up finds that the shared store restarted with a lower seq.
    /// </summary>
    long CurrentSeq { get; }

    /// <summary>
    /// Whether this instance is subscribed and caught up, so every invalidation up to <see cref="CurrentSeq"/> has
    /// been applied locally. While <see langword="false"/>, local entries may be stale: keep local lifetimes short.
    /// </summary>
    bool IsSynchronized { get; }

    /// <summary>
    /// Reads the shared seq, for a leader to call before it runs the work. <see langword="null"/> when the shared
    /// store cannot answer within the read budget: then the result must not be stored in the second level.
    /// </summary>
    ValueTask<long?> ReadSeqAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Invalidates tags, keys, patterns or everything (<paramref name="items"/>) on every instance: each applies them
    /// precisely to its local entries, and the shared level drops every entry they cover (for a pattern or a clear,
    /// every shared entry stored before it). Does not evict this instance's own entries: the caller does that, as it
    /// does without scale-out. With read-your-writes on, returns once every live instance has applied them (or
    /// stopped being live, or the acknowledgement timeout passed).
    /// </summary>
    /// <returns>
    /// The seq of this invalidation; <c>0</c> when the shared store is unavailable, in which case the items are
    /// queued and published (latest per item) when it comes back, before the second level is used again.
    /// </returns>
    /// <exception cref="ArgumentException">A pattern is malformed; nothing was published.</exception>
    /// <exception cref="OperationCanceledException">Only when <paramref name="cancellationToken"/> is cancelled.</exception>
    Task<long> PublishAsync(IReadOnlyCollection<InvalidationItem> items, CancellationToken cancellationToken);

    /// <summary>
    /// A write's invalidation of <paramref name="tags"/>, awaited before its response leaves: publishes it and says
    /// whether the write may be answered with its 2xx, that is whether every instance that still serves has applied
    /// it or has stopped serving what it covers. <see langword="false"/> means it could not be confirmed within the
    /// implementation's bound: the caller must not send the 2xx (the invalidation is queued and goes out later).
    /// </summary>
    /// <exception cref="OperationCanceledException">Only when <paramref name="cancellationToken"/> is cancelled.</exception>
    Task<bool> ConfirmWriteAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken);

    /// <summary>Invalidates <paramref name="tags"/> on every instance, as <see cref="PublishAsync"/> does.</summary>
    /// <exception cref="OperationCanceledException">Only when <paramref name="cancellationToken"/> is cancelled.</exception>
    Task<long> PublishInvalidationAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken);
}
