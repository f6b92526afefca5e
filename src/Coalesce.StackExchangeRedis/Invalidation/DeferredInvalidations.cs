using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Invalidations this instance could not publish, encoded (<see cref="InvalidationWire"/>) and held once each
/// (latest per item), until synchronization publishes them before the second level is used again.
/// </summary>
internal sealed class DeferredInvalidations(ILogger logger, RedisCounters counters)
{
    private readonly ConcurrentDictionary<string, byte> _items = new(StringComparer.Ordinal);

    public bool IsEmpty => _items.IsEmpty;

    /// <summary>Queues items a publish could not send, counted and logged.</summary>
    public void Defer(IReadOnlyCollection<string> items)
    {
        Requeue(items);
        counters.Deferred();
        RedisLog.InvalidationDeferred(logger, InvalidationWire.Describe(items));
    }

    /// <summary>Queues encoded items again (a replay failed); the queue holds each item once.</summary>
    public void Requeue(IEnumerable<string> items)
    {
        foreach (var item in items)
        {
            _items[item] = 0;
        }
    }

    /// <summary>Takes every queued item out of the queue.</summary>
    public List<string> Drain()
    {
        var drained = new List<string>();
        foreach (var item in _items.Keys)
        {
            if (_items.TryRemove(item, out _))
            {
                drained.Add(item);
            }
        }

        return drained;
    }
}
