namespace Coalesce.StackExchangeRedis;

/// <summary>
/// This instance's waits for other instances' executions, one signal per (key hash, holder token): usually one wait
/// each, as local followers wait behind their leader. Fed by the fill channel's notices, and woken all at once when
/// Redis is being left alone.
/// </summary>
internal sealed class FillWaiters
{
    private readonly Dictionary<string, Awaited> _waiting = new(StringComparer.Ordinal);

    /// <summary>Registers a wait; the returned signal completes with the holder's notice.</summary>
    public Awaited Register(string hash, string holder)
    {
        lock (_waiting)
        {
            var key = WaitKey(hash, holder);
            if (!_waiting.TryGetValue(key, out var awaited) || awaited.Signal.Task.IsCompleted)
            {
                awaited = new Awaited();
                _waiting[key] = awaited;
            }

            awaited.Count++;
            return awaited;
        }
    }

    /// <summary>Ends one wait; the last one for a (hash, holder) removes its signal. Nulls are ignored.</summary>
    public void Unregister(string hash, string? holder, Awaited? awaited)
    {
        if (holder is null || awaited is null)
        {
            return;
        }

        lock (_waiting)
        {
            var key = WaitKey(hash, holder);
            if (--awaited.Count == 0 && _waiting.TryGetValue(key, out var current) && ReferenceEquals(current, awaited))
            {
                _waiting.Remove(key);
            }
        }
    }

    /// <summary>A holder's notice arrived: wakes the waits for it, if any.</summary>
    public void Signal(string hash, string holder, FillNotice notice)
    {
        lock (_waiting)
        {
            if (_waiting.TryGetValue(WaitKey(hash, holder), out var awaited))
            {
                awaited.Signal.TrySetResult(notice);
            }
        }
    }

    public void WakeAll(FillNotice notice)
    {
        lock (_waiting)
        {
            foreach (var awaited in _waiting.Values)
            {
                awaited.Signal.TrySetResult(notice);
            }
        }
    }

    private static string WaitKey(string hash, string holder) => hash + " " + holder;

    /// <summary>The waits of this instance for one holder.</summary>
    internal sealed class Awaited
    {
        public TaskCompletionSource<FillNotice> Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count { get; set; }
    }
}
