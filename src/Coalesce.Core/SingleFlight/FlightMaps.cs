using System.Collections.Concurrent;

namespace Coalesce;

/// <summary>Maps of flights in progress: every flight adds itself and removes itself again, from whichever core runs it.</summary>
internal static class FlightMaps
{
    /// <summary>
    /// A map written as often as it is read. With <see cref="ConcurrentDictionary{TKey, TValue}"/>'s defaults (a lock
    /// per core) the cores' lock objects and per-lock counts sit on the same few cache lines, which then travel between
    /// the cores on every add and remove; two threads adding and removing keys of their own took 2.5-10x as long per
    /// pair as with 256 locks. About 7 KB of locks and 8 KB of buckets per map.
    /// </summary>
    public static ConcurrentDictionary<TKey, TValue> Create<TKey, TValue>(IEqualityComparer<TKey>? comparer = null)
        where TKey : notnull
        => new(concurrencyLevel: Math.Max(256, Environment.ProcessorCount * 16), capacity: 1024, comparer);
}
