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

        return await _store.TryGetAsync(KeyPrefix + key, tags, cancellationToken).ConfigureAwait(false) is { } hit
            ? new MemoCacheLevelEntry(hit.Payload, hit.RemainingTimeToLive)
            : null;
    }

    /// <summary>
    /// Nothing to do here: <see cref="MemoCacheInvalidationPublisher"/> publishes the cache's invalidations, which stamp
    /// in Redis the tags, the key (as <see cref="KeyPrefix"/> + key) or every entry that a shared value is checked against.
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

        return await _store.TrySetAsync(KeyPrefix + key, payload, timeToLive, tags, startMarker, cancellationToken).ConfigureAwait(false) switch
        {
            SecondLevelWriteResult.Stored => MemoCacheLevelWriteResult.Stored,
            SecondLevelWriteResult.TooLarge => MemoCacheLevelWriteResult.TooLarge,
            SecondLevelWriteResult.Stale => MemoCacheLevelWriteResult.Stale,
            _ => MemoCacheLevelWriteResult.Unavailable,
        };
    }

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
