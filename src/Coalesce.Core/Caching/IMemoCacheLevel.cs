namespace Coalesce;

/// <summary>
/// A level below a <see cref="MemoCache"/>'s memory that holds values serialized to bytes: shared by every instance
/// of an app (the Redis level of <c>Coalesce.StackExchangeRedis</c>) or kept by one machine. Attach it with
/// <see cref="MemoCacheOptions.SecondLevel"/>; values reach it only through the calls that give a
/// <see cref="System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}"/> (for example
/// <see cref="MemoCache.GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, System.Text.Json.Serialization.Metadata.JsonTypeInfo{T}, CacheEntryOptions?, CancellationToken)"/>).
/// </summary>
/// <remarks>
/// <para>
/// The cache calls it only on a local miss, from the one fetch that leads for the key, so a hit in memory never
/// reaches it. Keys and tags are the cache's own (with its namespace).
/// </para>
/// <para>
/// Invalidation race: the leader calls <see cref="BeginFetchAsync"/> before it runs the fetcher and hands the marker
/// to <see cref="TrySetAsync"/>; a level that knows of invalidations refuses a value whose tags were invalidated after
/// the marker, so a result computed from data read before an invalidation is never shared.
/// </para>
/// <para>
/// No member may throw because the level is unavailable: a failure or a timeout is a miss, a <see langword="null"/>
/// marker or <see cref="MemoCacheLevelWriteResult.Unavailable"/>. (The cache still catches what a member throws, logs it
/// and carries on as on a miss.)
/// </para>
/// </remarks>
public interface IMemoCacheLevel
{
    /// <summary>
    /// Reads an entry stored under exactly <paramref name="key"/> and <paramref name="tags"/> that no invalidation has
    /// covered since it was computed.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="tags">The tags the caller would store the value with.</param>
    /// <param name="cancellationToken">Ends the read; it is then a miss.</param>
    /// <returns>The payload and its remaining time to live, or <see langword="null"/> on a miss.</returns>
    ValueTask<MemoCacheLevelEntry?> TryGetAsync(string key, IReadOnlyCollection<string> tags, CancellationToken cancellationToken);

    /// <summary>
    /// Told of every invalidation of the cache (key, delete, tags, pattern, clear) before its entries go, on the
    /// invalidating thread: make what it covers unreadable, and refuse later writes of fetches that began before it.
    /// Keep it short and never throw (the cache logs and ignores a failure). A level that learns of invalidations
    /// another way (the Redis level, through its invalidation bus) does nothing here.
    /// </summary>
    /// <param name="invalidation">What goes.</param>
    void Invalidate(MemoCacheLevelInvalidation invalidation);

    /// <summary>Marks the start of a fetch whose result may be stored later.</summary>
    /// <param name="cancellationToken">Ends the call; the result is then not stored.</param>
    /// <returns>The marker for <see cref="TrySetAsync"/>; <see langword="null"/> when the level cannot give one now, and then the result is not stored.</returns>
    ValueTask<long?> BeginFetchAsync(CancellationToken cancellationToken);

    /// <summary>Stores a value computed by a fetch that began at <paramref name="startMarker"/>.</summary>
    /// <param name="key">The key.</param>
    /// <param name="payload">The serialized value.</param>
    /// <param name="timeToLive">How long the entry lives; positive.</param>
    /// <param name="tags">Its tags.</param>
    /// <param name="startMarker">What <see cref="BeginFetchAsync"/> returned before the fetch.</param>
    /// <param name="cancellationToken">Ends the write; it is then <see cref="MemoCacheLevelWriteResult.Unavailable"/>.</param>
    ValueTask<MemoCacheLevelWriteResult> TrySetAsync(
        string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, IReadOnlyCollection<string> tags, long startMarker, CancellationToken cancellationToken);
}
