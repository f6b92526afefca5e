using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore;

/// <summary>
/// The app's <see cref="MemoCache"/> values on the scale-out package's second level: the same
/// <see cref="ISecondLevelStore"/> and invalidation seq as memoized responses, under keys of their own
/// (<see cref="KeyPrefix"/>), so a value and a response never read each other.
/// </summary>
/// <remarks>
/// The store and the invalidation bus are resolved on first use: the bus evicts from the cache this level belongs
/// to, so resolving it while the cache is built would be a cycle. A direct tag invalidation of the cache is published
/// in the background (<see cref="MemoCacheInvalidationPublisher"/>); until it has reached the shared store, reads
/// are misses, so this instance never takes back from the second level what it has just evicted.
/// </remarks>
internal sealed class ScaleOutMemoCacheLevel(IServiceProvider services) : IMemoCacheLevel
{
    /// <summary>Put before every key: request keys begin with the method, so no response key starts with it.</summary>
    public const string KeyPrefix = "value:";

    /// <summary>
    /// Every shared value also carries <c>{KeyTagPrefix}{key}</c>, so invalidating its key (or deleting it) on any
    /// instance makes it unreadable in the second level, through the same tag stamps as a tag invalidation.
    /// </summary>
    public const string KeyTagPrefix = "coalesce:value-key:";

    /// <summary>
    /// Every shared value also carries this tag, so a pattern invalidation or a clear makes every shared value
    /// unreadable in the second level: coarse, since Redis cannot match a pattern against its stamps, but never stale.
    /// </summary>
    public const string AllValuesTag = "coalesce:value-all";

    private ISecondLevelStore? _store;
    private IDistributedInvalidation? _distributed;
    private MemoCacheInvalidationPublisher? _publisher;
    private bool _resolved;

    public async ValueTask<MemoCacheLevelEntry?> TryGetAsync(string key, IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        Resolve();
        if (_store is null || _publisher?.IsPublishing == true)
        {
            return null;
        }

        return await _store.TryGetAsync(KeyPrefix + key, SharedTags(key, tags), cancellationToken).ConfigureAwait(false) is { } hit
            ? new MemoCacheLevelEntry(hit.Payload, hit.RemainingTimeToLive)
            : null;
    }

    /// <summary>
    /// Nothing to do here: <see cref="MemoCacheInvalidationPublisher"/> publishes the cache's invalidations (as
    /// <see cref="TagsToPublish"/>), which stamps their tags in Redis for every instance.
    /// </summary>
    public void Invalidate(MemoCacheLevelInvalidation invalidation)
    {
    }

    public ValueTask<long?> BeginFetchAsync(CancellationToken cancellationToken)
    {
        Resolve();
        return _distributed?.ReadSeqAsync(cancellationToken) ?? new ValueTask<long?>((long?)null);
    }

    public async ValueTask<MemoCacheLevelWriteResult> TrySetAsync(
        string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, IReadOnlyCollection<string> tags, long startMarker, CancellationToken cancellationToken)
    {
        Resolve();
        if (_store is null)
        {
            return MemoCacheLevelWriteResult.Unavailable;
        }

        return await _store.TrySetAsync(KeyPrefix + key, payload, timeToLive, SharedTags(key, tags), startMarker, cancellationToken).ConfigureAwait(false) switch
        {
            SecondLevelWriteResult.Stored => MemoCacheLevelWriteResult.Stored,
            SecondLevelWriteResult.TooLarge => MemoCacheLevelWriteResult.TooLarge,
            SecondLevelWriteResult.Stale => MemoCacheLevelWriteResult.Stale,
            _ => MemoCacheLevelWriteResult.Unavailable,
        };
    }

    /// <summary>
    /// The tags to invalidate on every instance for an invalidation of the cache: its own tags, else the key's tag
    /// (a key or a delete), else <see cref="AllValuesTag"/> (a pattern or a clear).
    /// </summary>
    public static IReadOnlyCollection<string>? TagsToPublish(CacheInvalidation invalidation) => invalidation switch
    {
        { Tags: { } tags } => tags.Count > 0 ? tags : null,
        { Key: { } key } => [KeyTagPrefix + key],
        _ => [AllValuesTag],
    };

    private static string[] SharedTags(string key, IReadOnlyCollection<string> tags) => [.. tags, KeyTagPrefix + key, AllValuesTag];

    private void Resolve()
    {
        if (Volatile.Read(ref _resolved))
        {
            return;
        }

        _store = services.GetService<ISecondLevelStore>();
        _distributed = services.GetService<IDistributedInvalidation>();
        _publisher = services.GetService<MemoCacheInvalidationPublisher>();
        Volatile.Write(ref _resolved, true);
    }
}
