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
    private readonly ConcurrentDictionary<RequestFlight, byte> _watched = FlightMaps.Create<RequestFlight, byte>();

    public RequestFlights(MemoCache cache)
    {
        cache.Invalidating += OnInvalidating;
    }

    // Striped: followers on every core count here during a stampede, and this object's other fields are read by every request.
    private readonly StripedCounter _joins = new();

    public SharedCall Calls { get; } = new();

    /// <summary>Requests that joined another's flight to wait for it, so far.</summary>
    public long Joins => _joins.Value;

    /// <summary>Counts a request that joins a flight (followers only: a leader, the common case, counts nothing here).</summary>
    public void Joined() => _joins.Increment();

    /// <summary>Starts watching a flight for invalidations; call before its endpoint reads any data.</summary>
    public void Watch(RequestFlight flight)
    {
        flight.Watched = true;
        _watched.TryAdd(flight, 0);
    }

    /// <summary>Stops watching a flight, if it was watched (most flights, neither memoized nor tagged, never are).</summary>
    public void Unwatch(RequestFlight flight)
    {
        if (flight.Watched)
        {
            _watched.TryRemove(flight, out _);
        }
    }

    private void OnInvalidating(CacheInvalidation invalidation)
    {
        foreach (var (flight, _) in _watched)
        {
            if (invalidation.Covers(flight.Key, flight.Tags))
            {
                flight.Invalidate();
                Calls.Detach(flight);
            }
        }
    }
}
