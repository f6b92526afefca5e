using System.Threading.RateLimiting;

namespace Coalesce.Resilience;

/// <summary>
/// "At most N calls per second" as a fixed-window <see cref="RateLimiter"/> whose windows follow a
/// <see cref="TimeProvider"/>, so tests can drive it. Waiters queue oldest first.
/// </summary>
/// <remarks>
/// A rate of r calls per second becomes <c>max(1, floor(r))</c> permits per window of <c>permits / r</c>
/// seconds (10/s → 10 per second; 2.5/s → 2 per 0.8 s; 0.5/s → 1 per 2 s). Windows are replenished lazily
/// when a call arrives, and by a one-shot timer only while callers are queued: an idle limiter holds no
/// timer, so nothing roots it and it can be collected or evicted freely.
/// </remarks>
internal sealed class WindowRateLimiter : RateLimiter
{
    private readonly FixedWindowRateLimiter _inner;
    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private readonly object _gate = new();
    private long _windowStart;
    private long _lastUsed;
    private ITimer? _timer;

    public WindowRateLimiter(double callsPerSecond, int queueLimit, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(callsPerSecond, 0);
        ArgumentOutOfRangeException.ThrowIfNegative(queueLimit);
        ArgumentNullException.ThrowIfNull(timeProvider);

        PermitsPerWindow = (int)Math.Max(1, Math.Floor(callsPerSecond));
        Window = TimeSpan.FromSeconds(PermitsPerWindow / callsPerSecond);
        CallsPerSecond = callsPerSecond;
        _time = timeProvider;
        _windowTicks = (long)(Window.TotalSeconds * timeProvider.TimestampFrequency);
        _windowStart = _lastUsed = timeProvider.GetTimestamp();
        _inner = new FixedWindowRateLimiter(new FixedWindowRateLimiterOptions
        {
            PermitLimit = PermitsPerWindow,
            Window = Window,
            QueueLimit = queueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = false,
        });
    }

    public double CallsPerSecond { get; }

    public int PermitsPerWindow { get; }

    public TimeSpan Window { get; }

    public override TimeSpan? IdleDuration
    {
        get
        {
            ReplenishIfDue();
            var stats = _inner.GetStatistics();
            if (stats is null || stats.CurrentQueuedCount > 0 || stats.CurrentAvailablePermits < PermitsPerWindow)
            {
                return null;
            }

            return _time.GetElapsedTime(Volatile.Read(ref _lastUsed));
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        ReplenishIfDue();
        return _inner.GetStatistics();
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ReplenishIfDue();
        Volatile.Write(ref _lastUsed, _time.GetTimestamp());
        return _inner.AttemptAcquire(permitCount);
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        ReplenishIfDue();
        Volatile.Write(ref _lastUsed, _time.GetTimestamp());
        var lease = _inner.AcquireAsync(permitCount, cancellationToken);
        if (!lease.IsCompleted)
        {
            ArmTimer();
        }

        return lease;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            StopTimer();
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        StopTimer();
        await _inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsyncCore().ConfigureAwait(false);
    }

    private void StopTimer()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }

    private void ReplenishIfDue()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var elapsed = now - _windowStart;
            if (elapsed < _windowTicks)
            {
                return;
            }

            // Windows stay aligned to their first start, so a late call does not shift the schedule.
            _windowStart += elapsed / _windowTicks * _windowTicks;
            _inner.TryReplenish();
        }
    }

    private void ArmTimer()
    {
        lock (_gate)
        {
            if (_timer is not null)
            {
                return;
            }

            _timer = _time.CreateTimer(static state => ((WindowRateLimiter)state!).OnWindowEnd(), this, DueIn(), Timeout.InfiniteTimeSpan);
        }
    }

    private void OnWindowEnd()
    {
        ReplenishIfDue();
        lock (_gate)
        {
            if (_timer is null)
            {
                return;
            }

            if (_inner.GetStatistics()?.CurrentQueuedCount > 0)
            {
                _timer.Change(DueIn(), Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timer.Dispose();
                _timer = null;
            }
        }
    }

    private TimeSpan DueIn()
    {
        var remaining = _windowStart + _windowTicks - _time.GetTimestamp();
        var ticks = (long)(remaining * ((double)TimeSpan.TicksPerSecond / _time.TimestampFrequency));
        return TimeSpan.FromTicks(Math.Max(1, ticks));
    }
}
