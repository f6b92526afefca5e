using System.Threading.RateLimiting;

namespace Coalesce.Resilience;

/// <summary>
/// "At most N calls per second" as a fixed-window <see cref="RateLimiter"/> on a <see cref="TimeProvider"/>.
/// Polly.RateLimiting runs it (<c>AddRateLimiter</c>); only the limiter itself is ours, because the framework's
/// limiters (<see cref="FixedWindowRateLimiter"/> and the rest, System.Threading.RateLimiting 10.0) take no
/// <see cref="TimeProvider"/>: they replenish on the real clock only, so a fake clock cannot drive them in tests or
/// in an app that injects its own clock. Waiters queue oldest first.
/// </summary>
/// <remarks>
/// A rate of r calls per second becomes <c>max(1, floor(r))</c> permits per window of <c>permits / r</c>
/// seconds (10/s → 10 per second; 2.5/s → 2 per 0.8 s; 0.5/s → 1 per 2 s). Windows roll lazily when the
/// limiter is used, and a one-shot timer runs only while callers are queued: an idle limiter holds no timer,
/// so nothing roots it and it can be dropped freely.
/// </remarks>
internal sealed class WindowRateLimiter : RateLimiter
{
    private static readonly Lease Granted = new Lease(acquired: true, retryAfter: null);

    private readonly object _gate = new();
    private readonly LinkedList<Waiter> _queue = new();
    private readonly TimeProvider _time;
    private readonly int _queueLimit;
    private readonly long _windowTicks;
    private int _available;
    private int _queuedPermits;
    private long _windowStart;
    private long _lastUsed;
    private long _successful;
    private long _failed;
    private ITimer? _timer;
    private bool _disposed;

    public WindowRateLimiter(double callsPerSecond, int queueLimit, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(callsPerSecond, 0);
        ArgumentOutOfRangeException.ThrowIfNegative(queueLimit);
        ArgumentNullException.ThrowIfNull(timeProvider);

        CallsPerSecond = callsPerSecond;
        PermitsPerWindow = (int)Math.Max(1, Math.Floor(callsPerSecond));
        Window = TimeSpan.FromSeconds(PermitsPerWindow / callsPerSecond);
        _time = timeProvider;
        _queueLimit = queueLimit;
        _windowTicks = Math.Max(1, (long)(Window.TotalSeconds * timeProvider.TimestampFrequency));
        _windowStart = _lastUsed = timeProvider.GetTimestamp();
        _available = PermitsPerWindow;
    }

    public double CallsPerSecond { get; }

    public int PermitsPerWindow { get; }

    public TimeSpan Window { get; }

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_gate)
            {
                Roll();
                return _queue.Count == 0 && _available == PermitsPerWindow ? _time.GetElapsedTime(_lastUsed) : null;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_gate)
        {
            Roll();
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = _available,
                CurrentQueuedCount = _queuedPermits,
                TotalSuccessfulLeases = _successful,
                TotalFailedLeases = _failed,
            };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        CheckPermitCount(permitCount);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Roll();
            return TryTake(permitCount) ? Granted : Fail();
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        CheckPermitCount(permitCount);
        cancellationToken.ThrowIfCancellationRequested();
        Waiter waiter;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Roll();
            if (TryTake(permitCount))
            {
                return new(Granted);
            }

            if (_queuedPermits + permitCount > _queueLimit)
            {
                return new(Fail());
            }

            waiter = new Waiter(permitCount);
            waiter.Node = _queue.AddLast(waiter);
            _queuedPermits += permitCount;
            ArmTimer();
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(
                static (state, token) => ((WindowRateLimiter)((object[])state!)[0]).Cancel((Waiter)((object[])state)[1], token),
                new object[] { this, waiter });
        }

        return new(waiter.Lease.Task);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            List<Waiter> abandoned;
            lock (_gate)
            {
                _disposed = true;
                _timer?.Dispose();
                _timer = null;
                abandoned = [.. _queue];
                _queue.Clear();
                _queuedPermits = 0;
            }

            foreach (var waiter in abandoned)
            {
                waiter.Registration.Unregister();
                waiter.Lease.TrySetResult(new Lease(acquired: false, retryAfter: null));
            }
        }

        base.Dispose(disposing);
    }

    protected override ValueTask DisposeAsyncCore()
    {
        Dispose(disposing: true);
        return base.DisposeAsyncCore();
    }

    private void CheckPermitCount(int permitCount)
    {
        if (permitCount < 0 || permitCount > PermitsPerWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, $"Must be between 0 and {PermitsPerWindow} (the permits per window).");
        }
    }

    // Under _gate.
    private bool TryTake(int permitCount)
    {
        if (_queue.Count > 0 || _available < permitCount)
        {
            return false;
        }

        _available -= permitCount;
        _lastUsed = _time.GetTimestamp();
        _successful++;
        return true;
    }

    // Under _gate.
    private Lease Fail()
    {
        _failed++;
        return new Lease(acquired: false, retryAfter: TimeUntilNextWindow());
    }

    // Under _gate: starts the windows that have begun since the last look, then serves queued callers in order.
    private void Roll()
    {
        var elapsed = _time.GetTimestamp() - _windowStart;
        if (elapsed < _windowTicks)
        {
            return;
        }

        // Windows stay aligned to the first one, so a late look does not shift the schedule.
        _windowStart += elapsed / _windowTicks * _windowTicks;
        _available = PermitsPerWindow;
        while (_queue.First is { } first && _available >= first.Value.Permits)
        {
            var waiter = first.Value;
            _queue.RemoveFirst();
            _queuedPermits -= waiter.Permits;
            _available -= waiter.Permits;
            _successful++;
            _lastUsed = _time.GetTimestamp();
            waiter.Registration.Unregister();

            // Continuations run asynchronously, so completing under the lock runs no user code here.
            waiter.Lease.TrySetResult(Granted);
        }
    }

    private void Cancel(Waiter waiter, CancellationToken token)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            _queue.Remove(waiter.Node);
            _queuedPermits -= waiter.Permits;
        }

        waiter.Lease.TrySetCanceled(token);
    }

    // Under _gate.
    private void ArmTimer()
    {
        if (_timer is null)
        {
            _timer = _time.CreateTimer(static state => ((WindowRateLimiter)state!).OnWindowEnd(), this, TimeUntilNextWindow(), Timeout.InfiniteTimeSpan);
        }
    }

    private void OnWindowEnd()
    {
        lock (_gate)
        {
            if (_timer is null)
            {
                return;
            }

            Roll();
            if (_queue.Count > 0)
            {
                _timer.Change(TimeUntilNextWindow(), Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timer.Dispose();
                _timer = null;
            }
        }
    }

    // Under _gate. At least one tick, so a timer never fires synchronously inside the lock.
    private TimeSpan TimeUntilNextWindow()
    {
        var remaining = _windowStart + _windowTicks - _time.GetTimestamp();
        return TimeSpan.FromTicks(Math.Max(1, (long)Math.Ceiling(remaining * ((double)TimeSpan.TicksPerSecond / _time.TimestampFrequency))));
    }

    private sealed class Waiter(int permits)
    {
        public int Permits { get; } = permits;

        public TaskCompletionSource<RateLimitLease> Lease { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public CancellationTokenRegistration Registration { get; set; }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames =>
            retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } after && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = after;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
