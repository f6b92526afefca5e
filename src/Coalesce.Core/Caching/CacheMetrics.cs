using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;

namespace Coalesce;

/// <summary>
/// Publishes every live <see cref="MemoCache"/> on the <c>Coalesce</c> meter with observable instruments, which
/// read the caches' counters only when a listener collects: nothing is added to the hit path. Caches are held
/// weakly, so an undisposed cache can still be collected.
/// </summary>
internal static class CacheMetrics
{
    private const string Layer = "cache";
    private static readonly Lock Gate = new();
    private static readonly List<WeakReference<MemoCache>> Caches = [];
    private static int s_pruneAt = 16;

    static CacheMetrics()
    {
        var meter = CoalesceMeter.Meter;
        meter.CreateObservableCounter("coalesce.cache.hits", () => Observe(static s => s.Hits), "{read}", "Cache reads that found a live entry.");
        meter.CreateObservableCounter("coalesce.cache.misses", () => Observe(static s => s.Misses), "{read}", "Cache reads that found no live entry.");
        meter.CreateObservableCounter("coalesce.cache.evictions", () => Observe(static s => s.Evictions), "{entry}", "Entries evicted to stay within the size bound.");
        meter.CreateObservableUpDownCounter("coalesce.cache.size", () => Observe(static s => s.Size), "{entry}", "Entries held.");
        meter.CreateObservableUpDownCounter("coalesce.cache.bytes", () => Observe(static s => s.ApproximateBytes), "By", "Memory the entries hold, as counted against the byte bound.");
        meter.CreateObservableCounter("coalesce.cache.rejections", () => Observe(static s => s.Rejections), "{entry}", "Values not stored because they were larger than the per-entry limit.");
    }

    public static void Register(MemoCache cache)
    {
        lock (Gate)
        {
            // Caches that were never disposed leave dead references; prune them as the list doubles, so it stays
            // proportional to the live caches even when no listener ever collects.
            if (Caches.Count >= s_pruneAt)
            {
                Caches.RemoveAll(static r => !r.TryGetTarget(out _));
                s_pruneAt = Math.Max(16, Caches.Count * 2);
            }

            Caches.Add(new WeakReference<MemoCache>(cache));
        }
    }

    public static void Unregister(MemoCache cache)
    {
        lock (Gate)
        {
            Caches.RemoveAll(r => !r.TryGetTarget(out var live) || ReferenceEquals(live, cache));
        }
    }

    private static List<Measurement<long>> Observe(Func<CacheStats, long> figure)
    {
        var measurements = new List<Measurement<long>>();
        lock (Gate)
        {
            Caches.RemoveAll(r => !r.TryGetTarget(out _));
            foreach (var reference in Caches)
            {
                if (reference.TryGetTarget(out var cache))
                {
                    measurements.Add(new Measurement<long>(figure(cache.GetStats()), CoalesceMeter.Tags(Layer, cache.Name)));
                }
            }
        }

        return measurements;
    }
}
