using System.Diagnostics.CodeAnalysis;

namespace Coalesce;

/// <summary>The cache's events, raised so that a subscriber's failure never breaks the operation that raised it.</summary>
public sealed partial class MemoCache
{
    /// <summary>Raised when a read finds a live entry.</summary>
    public event EventHandler<CacheKeyEventArgs>? Hit;

    /// <summary>Raised when a read finds no live entry.</summary>
    public event EventHandler<CacheKeyEventArgs>? Miss;

    /// <summary>Raised after an entry is stored.</summary>
    [SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "The event name is part of the public contract (README, MemoCache).")]
    public event EventHandler<CacheKeyEventArgs>? Set;

    /// <summary>Raised after an entry is deleted by key (<see cref="DeleteAsync"/>, <see cref="DeleteManyAsync"/>).</summary>
    public event EventHandler<CacheKeyEventArgs>? Deleted;

    /// <summary>Raised when the cache lets an entry go on its own: the size bound or expiry.</summary>
    public event EventHandler<CacheEvictedEventArgs>? Evicted;

    /// <summary>
    /// Raised when a value is not stored because it is larger than <see cref="MemoCacheOptions.MaxEntryBytes"/> (or
    /// <see cref="MemoCacheOptions.MaxBytes"/>). The write itself returns quietly; see <see cref="CacheStats.Rejections"/>.
    /// </summary>
    public event EventHandler<CacheRejectedEventArgs>? Rejected;

    /// <summary>Raised once per invalidation call that removed at least one entry.</summary>
    public event EventHandler<CacheInvalidatedEventArgs>? Invalidated;

    /// <summary>
    /// Raised synchronously before entries are removed by a delete, an invalidation or a clear, so work in
    /// progress that would store data read before it can be told first (the request middleware cancels the
    /// memoization of flights that started earlier). Handlers must be quick and must not throw.
    /// </summary>
    internal event Action<CacheInvalidation>? Invalidating;

    private int ReportInvalidated(List<string> removedStoreKeys)
    {
        if (removedStoreKeys.Count > 0)
        {
            RaiseInvalidated([.. removedStoreKeys.Select(UserKey)]);
        }

        return removedStoreKeys.Count;
    }

    private void OnStoreRemoved(string storeKey, object? value, RemovalReason reason)
    {
        var handler = Evicted;
        if (handler is null || reason is not (RemovalReason.Capacity or RemovalReason.Expired))
        {
            return;
        }

        RaiseSafely(handler, new CacheEvictedEventArgs(
            UserKey(storeKey), reason == RemovalReason.Capacity ? CacheEvictionReason.Capacity : CacheEvictionReason.Expired));
    }

    private void Raise(EventHandler<CacheKeyEventArgs>? handler, string key)
    {
        if (handler is not null)
        {
            RaiseSafely(handler, new CacheKeyEventArgs(key));
        }
    }

    private void RaiseInvalidated(IReadOnlyList<string> keys)
    {
        if (Invalidated is { } handler)
        {
            RaiseSafely(handler, new CacheInvalidatedEventArgs(keys));
        }
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A subscriber's failure must not break the cache operation that raised the event.")]
    private void RaiseSafely<TArgs>(EventHandler<TArgs> handler, TArgs args)
    {
        foreach (var single in handler.GetInvocationList())
        {
            try
            {
                ((EventHandler<TArgs>)single)(this, args);
            }
            catch (Exception)
            {
                // Ignored by contract: see the remarks on MemoCache.
            }
        }
    }
}
