using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;

namespace Coalesce;

/// <summary>
/// Publishes one <see cref="MemoCache"/> on the <c>Coalesce</c> meter with observable instruments, which read the
/// cache's counters only when a listener collects: nothing is added to the hit path. The meter comes from
/// <see cref="MemoCacheOptions.MeterFactory"/>; a cache built without one creates its own meter and disposes it with
/// the cache. The instruments hold the cache weakly and report nothing once it is disposed or collected.
/// </summary>
internal sealed class CacheMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly WeakReference<MemoCache> _cache;
    private readonly KeyValuePair<string, object?> _name;
    private volatile bool _disposed;

    public CacheMetrics(MemoCache cache, IMeterFactory? meterFactory)
    {
        _cache = new WeakReference<MemoCache>(cache);
        _name = new(CoalesceMeter.CacheNameTag, cache.Name);
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(new MeterOptions(CoalesceMeter.Name)) ?? new Meter(CoalesceMeter.Name);
        _meter.CreateObservableCounter("coalesce.cache.lookups", ObserveLookups, "{lookup}",
            "Cache reads, by coalesce.result: hit (a live entry was found) or miss.");
        _meter.CreateObservableCounter("coalesce.cache.evictions", () => Observe(static s => s.Evictions), "{entry}",
            "Entries evicted to stay within the size bounds.");
        _meter.CreateObservableUpDownCounter("coalesce.cache.entries", () => Observe(static s => s.Size), "{entry}",
            "Entries held.");
        _meter.CreateObservableUpDownCounter("coalesce.cache.bytes", () => Observe(static s => s.ApproximateBytes), "By",
            "Memory the entries hold, as counted against the byte bound.");
        _meter.CreateObservableCounter("coalesce.cache.rejections", () => Observe(static s => s.Rejections), "{entry}",
            "Values not stored because they were larger than the per-entry limit.");
        _meter.CreateObservableCounter("coalesce.cache.stale_hits", ObserveStaleHits, "{lookup}",
            "Reads answered with an entry past its time to live, by coalesce.cache.stale_reason: revalidating (a background refresh runs), error (the fetch failed) or timeout (the fetch outlasted its soft timeout).");
        _meter.CreateObservableCounter("coalesce.cache.refreshes", () => Observe(static s => s.Refreshes), "{refresh}",
            "Background refreshes of entries served stale while revalidating.");
        _meter.CreateObservableCounter("coalesce.cache.refresh_failures", () => Observe(static s => s.RefreshFailures), "{refresh}",
            "Background refreshes that failed; the stale entry stayed.");
        _meter.CreateObservableCounter("coalesce.cache.second_level", ObserveSecondLevel, "{operation}",
            "Second-level outcomes of local misses, by coalesce.result: hit (answered without fetching), miss, write (a fetched value stored there) or skip (a fetched value kept in memory only).");
    }

    public void Dispose()
    {
        _disposed = true;
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private bool TryGetStats(out CacheStats stats)
    {
        if (!_disposed && _cache.TryGetTarget(out var cache))
        {
            stats = cache.GetStats();
            return true;
        }

        stats = default!;
        return false;
    }

    private Measurement<long>[] Observe(Func<CacheStats, long> figure) =>
        TryGetStats(out var stats) ? [new(figure(stats), _name)] : [];

    private Measurement<long>[] ObserveStaleHits() =>
        TryGetStats(out var stats)
            ?
            [
                new(stats.StaleWhileRevalidateHits, _name, new(CoalesceMeter.StaleReasonTag, "revalidating")),
                new(stats.StaleIfErrorHits, _name, new(CoalesceMeter.StaleReasonTag, "error")),
                new(stats.SoftTimeoutHits, _name, new(CoalesceMeter.StaleReasonTag, "timeout")),
            ]
            : [];

    private Measurement<long>[] ObserveSecondLevel() =>
        TryGetStats(out var stats)
            ?
            [
                new(stats.SecondLevelHits, _name, new(CoalesceMeter.ResultTag, "hit")),
                new(stats.SecondLevelMisses, _name, new(CoalesceMeter.ResultTag, "miss")),
                new(stats.SecondLevelWrites, _name, new(CoalesceMeter.ResultTag, "write")),
                new(stats.SecondLevelSkips, _name, new(CoalesceMeter.ResultTag, "skip")),
            ]
            : [];

    private Measurement<long>[] ObserveLookups() =>
        TryGetStats(out var stats)
            ? [new(stats.Hits, _name, new(CoalesceMeter.ResultTag, "hit")), new(stats.Misses, _name, new(CoalesceMeter.ResultTag, "miss"))]
            : [];
}
