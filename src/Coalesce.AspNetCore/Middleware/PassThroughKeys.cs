using System.Collections.Concurrent;

namespace Coalesce.AspNetCore;

/// <summary>
/// Keys whose last response could not be shared, so requests for them skip coalescing for a short while
/// instead of queueing behind a leader whose answer won't be shared. Bounded: past its capacity it sweeps
/// expired marks, and if still full it simply stops marking (marking is an optimisation, never a guarantee).
/// </summary>
internal sealed class PassThroughKeys(TimeProvider time, int capacity = 10_000)
{
    private readonly ConcurrentDictionary<string, long> _until = new(StringComparer.Ordinal);
    private int _count;

    public bool IsPassingThrough(string key)
    {
        if (Volatile.Read(ref _count) == 0 || !_until.TryGetValue(key, out var until))
        {
            return false;
        }

        if (time.GetTimestamp() < until)
        {
            return true;
        }

        Remove(key, until);
        return false;
    }

    public void Mark(string key, TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        if (Volatile.Read(ref _count) >= capacity)
        {
            Sweep();
            if (Volatile.Read(ref _count) >= capacity)
            {
                return;
            }
        }

        var until = time.GetTimestamp() + (long)(duration.TotalSeconds * time.TimestampFrequency);
        while (true)
        {
            if (_until.TryGetValue(key, out var existing))
            {
                if (_until.TryUpdate(key, until, existing))
                {
                    return;
                }
            }
            else if (_until.TryAdd(key, until))
            {
                Interlocked.Increment(ref _count);
                return;
            }
        }
    }

    private void Sweep()
    {
        var now = time.GetTimestamp();
        foreach (var (key, until) in _until)
        {
            if (until <= now)
            {
                Remove(key, until);
            }
        }
    }

    private void Remove(string key, long until)
    {
        if (_until.TryRemove(new KeyValuePair<string, long>(key, until)))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}
