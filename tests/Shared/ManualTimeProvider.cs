using Microsoft.Extensions.Time.Testing;

namespace Coalesce.Testing;

/// <summary>
/// The tests' clock: the ecosystem's <see cref="FakeTimeProvider"/> (time moves only when a test calls
/// <see cref="FakeTimeProvider.Advance"/>; timers, and so <c>Task.Delay(delay, timeProvider)</c>, Polly delays and
/// timeouts, fire during it, in due-time order, on the calling thread), plus the two things it lacks: a count of
/// armed timers to wait for, so a test advances only once the code under test has armed its timer, and a wall
/// clock that can be set apart from the monotonic timestamp, to show that lifetimes follow the latter.
/// </summary>
public sealed class ManualTimeProvider : FakeTimeProvider
{
    private readonly Lock _gate = new();
    private TimeSpan _wallClockOffset;
    private int _pending;

    public ManualTimeProvider(DateTimeOffset? start = null)
        : base(start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))
    {
    }

    /// <summary>How many timers are armed and waiting to fire.</summary>
    public int PendingTimers => Volatile.Read(ref _pending);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return base.GetUtcNow() + _wallClockOffset;
        }
    }

    /// <summary>The monotonic clock: the fake time itself, never the wall-clock offset.</summary>
    public override long GetTimestamp() => base.GetUtcNow().UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Sets the wall clock to any instant, even backwards, without moving timestamps or firing timers.</summary>
    public void SetWallClock(DateTimeOffset now)
    {
        lock (_gate)
        {
            _wallClockOffset = now - base.GetUtcNow();
        }
    }

    /// <summary>Waits (without moving the clock) until at least <paramref name="count"/> timers are armed.</summary>
    public async Task WaitForTimersAsync(int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (PendingTimers < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Expected {count} pending timers, saw {PendingTimers}.");
            }

            await Task.Yield();
            await Task.Delay(1);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new CountedTimer(this, callback, state);
        timer.Inner = base.CreateTimer(static s => ((CountedTimer)s!).Fire(), timer, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>A timer of the base clock that keeps the armed count: armed from Change until it fires once (unless periodic) or is disposed.</summary>
    private sealed class CountedTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private bool _armed;
        private bool _arming;
        private bool _periodic;

        public ITimer Inner { get; set; } = null!;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            var arm = dueTime != Timeout.InfiniteTimeSpan;
            lock (this)
            {
                _periodic = period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero;
                _arming = arm;
                if (!arm)
                {
                    SetArmed(false);
                }
            }

            // Scheduled first, counted after: a test that sees the count and advances the clock must find the timer
            // due (counted first, an Advance in between would move the clock before the timer was scheduled, and it
            // would then be due that much later). One that fires in between is not counted at all.
            var changed = Inner.Change(dueTime, period);
            lock (this)
            {
                if (_arming)
                {
                    _arming = false;
                    SetArmed(true);
                }
            }

            return changed;
        }

        public void Fire()
        {
            lock (this)
            {
                if (!_periodic)
                {
                    _arming = false;
                    SetArmed(false);
                }
            }

            callback(state);
        }

        public void Dispose()
        {
            lock (this)
            {
                _arming = false;
                SetArmed(false);
            }

            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void SetArmed(bool armed)
        {
            if (armed != _armed)
            {
                _armed = armed;
                Interlocked.Add(ref owner._pending, armed ? 1 : -1);
            }
        }
    }
}
