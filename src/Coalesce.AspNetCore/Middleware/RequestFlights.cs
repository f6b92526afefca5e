using System.Collections.Concurrent;

namespace Coalesce.AspNetCore;

/// <summary>
/// The app's request flights: one single-flight group for every middleware instance (and the tests that watch
/// followers join), and the flights that would memoize or carry tags, so an invalidation reaches them too.
/// </summary>
/// <remarks>
/// An invalidation of the app's <see cref="MemoCache"/> (from <c>InvalidatesTags</c> or any direct call) marks every
/// covered flight in progress before any entry is removed, and detaches it, so a request that arrives after the
/// invalidation starts a fresh flight. A marked flight stores nothing; one that stored its response just before
/// being marked removes it again (see <c>RequestCoalescingMiddleware</c>). Either the invalidation sees the stored
/// entry or the flight sees the mark: a response computed from data read before a write is never kept after it.
/// </remarks>
internal sealed class RequestFlights
{
    private readonly ConcurrentDictionary<RequestFlight, byte> _watched = new();

    public RequestFlights(MemoCache cache)
    {
        cache.Invalidating += OnInvalidating;
    }

    public SharedCall Calls { get; } = new();

    /// <summary>Starts watching a flight for invalidations; call before its endpoint reads any data.</summary>
    public void Watch(RequestFlight flight) => _watched.TryAdd(flight, 0);

    public void Unwatch(RequestFlight flight) => _watched.TryRemove(flight, out _);

    private void OnInvalidating(CacheInvalidation invalidation)
    {
        foreach (var (flight, _) in _watched)
        {
            if (invalidation.Covers(flight.Key, flight.Tags))
            {
                flight.Invalidate();
                Calls.Forget(flight.Key, flight);
            }
        }
    }
}
