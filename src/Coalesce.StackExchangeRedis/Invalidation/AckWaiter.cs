namespace Coalesce.StackExchangeRedis;

/// <summary>One writer's wait for confirmations. Confirmations that arrive before the live set is known are kept.</summary>
internal sealed class AckWaiter
{
    private readonly object _gate = new();
    private readonly HashSet<string> _acked = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HashSet<string>? _pending;

    public Task Completed => _done.Task;

    public void Ack(string node)
    {
        lock (_gate)
        {
            _acked.Add(node);
            _pending?.Remove(node);
            CheckDone();
        }
    }

    public void Expect(IEnumerable<string> nodes)
    {
        lock (_gate)
        {
            _pending = new HashSet<string>(nodes.Where(n => !_acked.Contains(n)), StringComparer.Ordinal);
            CheckDone();
        }
    }

    public void Drop(string node)
    {
        lock (_gate)
        {
            _pending?.Remove(node);
            CheckDone();
        }
    }

    public bool HasAcked(string node)
    {
        lock (_gate)
        {
            return _acked.Contains(node);
        }
    }

    public string[] Pending()
    {
        lock (_gate)
        {
            return _pending is null ? [] : [.. _pending];
        }
    }

    private void CheckDone()
    {
        if (_pending is { Count: 0 })
        {
            _done.TrySetResult();
        }
    }
}
