namespace Coalesce.AspNetCore;

/// <summary>
/// A second level shared by every instance, for results already rendered to bytes (a captured response, a
/// serialized memoized value). Called only on a local miss, by the leader, so each instance makes at most one call
/// per key per miss. No member throws because the shared store is down: a failure or a timeout is a miss.
/// </summary>
internal interface ISecondLevelStore
{
    /// <summary>
    /// Reads an entry. It is returned only if it was stored under exactly this key and these tags, every tag is
    /// still known to the shared store, and none was invalidated after the entry's start seq.
    /// </summary>
    /// <returns>The payload and its remaining time to live (give the local copy that lifetime), or <see langword="null"/>.</returns>
    ValueTask<SecondLevelEntry?> TryGetAsync(string key, IReadOnlyCollection<string> tags, CancellationToken cancellationToken);

    /// <summary>
    /// Stores an entry computed by a leader that started at <paramref name="startSeq"/>
    /// (<see cref="IDistributedInvalidation.ReadSeqAsync"/>). Refused when a tag was invalidated after that.
    /// </summary>
    ValueTask<SecondLevelWriteResult> TrySetAsync(
        string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, IReadOnlyCollection<string> tags, long startSeq,
        CancellationToken cancellationToken);
}

/// <summary>A second-level hit.</summary>
/// <param name="Payload">The bytes stored.</param>
/// <param name="RemainingTimeToLive">How long the shared entry still lives.</param>
internal readonly record struct SecondLevelEntry(byte[] Payload, TimeSpan RemainingTimeToLive);

/// <summary>What became of a second-level write.</summary>
internal enum SecondLevelWriteResult
{
    /// <summary>Stored.</summary>
    Stored,

    /// <summary>Larger than the per-entry cap: it stays local.</summary>
    TooLarge,

    /// <summary>A tag was invalidated after the leader started, or the shared seq went back: the result is stale.</summary>
    Stale,

    /// <summary>The shared store is unavailable or did not answer within the budget.</summary>
    Unavailable,
}
