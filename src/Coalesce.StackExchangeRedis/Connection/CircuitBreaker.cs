namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Leaves Redis alone after it failed: opens after <c>threshold</c> failures in a row (or at once when told the
/// connection failed), then runs a probe every <c>probeInterval</c> until one succeeds, and only then closes.
/// Starts open: nothing is used before the first probe (connect, subscribe, catch up) succeeds.
/// </summary>
/// <remarks>The probe runs on the <see cref="TimeProvider"/>'s timer, never two at once; an exception from it counts as a failed probe.</remarks>
internal sealed class CircuitBreaker : IDisposable
{
    private readonly int _threshold;
    private readonly TimeSpan _probeInterval;
    private readonly TimeProvider _time;
    private readonly Func<CancellationToken, Task<bool>> _probe;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _timer;
    private readonly object _gate = new();
    private int _failures;
    private int _probing;
    private int _generation;
    private long _openedAt;
    private volatile bool _open = true;

    public CircuitBreaker(int threshold, TimeSpan probeInterval, TimeProvider time, Func<CancellationToken, Task<bool>> probe)
    {
        _threshold = threshold;
        _probeInterval = probeInterval;
        _time = time;
        _probe = probe;
        _openedAt = time.GetTimestamp();
        _timer = time.CreateTimer(static state => _ = ((CircuitBreaker)state!).ProbeAsync(), this, probeInterval, probeInterval);
    }

    /// <summary>Raised (outside any lock) when a failure opens the breaker; the argument says why.</summary>
    public event Action<string>? Opened;

    /// <summary>Raised when a probe succeeded and the breaker closed; the argument is how long it was open.</summary>
    public event Action<TimeSpan>? Closed;

    public bool IsOpen => _open;

    public long Openings { get; private set; }

    public void RecordSuccess() => Volatile.Write(ref _failures, 0);

    public void RecordFailure(string reason)
    {
        if (Interlocked.Increment(ref _failures) >= _threshold)
        {
            Open(reason);
        }
    }

    /// <summary>Opens at once, for example when the connection is known to have failed.</summary>
    public void Open(string reason)
    {
        lock (_gate)
        {
            // A failure during a probe must keep the breaker open even if that probe then succeeds.
            _generation++;
            if (_open)
            {
                return;
            }

            _open = true;
            Openings++;
            _openedAt = _time.GetTimestamp();
            _timer.Change(_probeInterval, _probeInterval);
        }

        Opened?.Invoke(reason);
    }

    /// <summary>Runs a probe now rather than at the next tick (the connection came back, say).</summary>
    public void ProbeSoon()
    {
        if (_open)
        {
            _ = ProbeAsync();
        }
    }

    internal async Task ProbeAsync()
    {
        if (!_open || Interlocked.Exchange(ref _probing, 1) == 1)
        {
            return;
        }

        try
        {
            var generation = Volatile.Read(ref _generation);
            bool healthy;
            try
            {
                healthy = await _probe(_stopping.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // The probe is the owner's code; whatever it throws is a failed probe, never a crashed timer.
            catch (Exception)
#pragma warning restore CA1031
            {
                healthy = false;
            }

            if (!healthy || _stopping.IsCancellationRequested)
            {
                return;
            }

            TimeSpan openFor;
            lock (_gate)
            {
                if (_generation != generation)
                {
                    return;
                }

                _open = false;
                _failures = 0;
                openFor = _time.GetElapsedTime(_openedAt);
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            Closed?.Invoke(openFor);
        }
        finally
        {
            Volatile.Write(ref _probing, 0);
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _timer.Dispose();
        _stopping.Dispose();
    }
}
