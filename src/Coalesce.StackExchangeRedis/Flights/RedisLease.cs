using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// This instance's lease on one key's execution (<see cref="LeaseKeeper"/>): renewed on a timer while the
/// endpoint runs, told when another instance waits for it, completed once.
/// </summary>
internal sealed class RedisLease(LeaseKeeper owner, LeaseTarget target, string token, long startSeq) : IDistributedLease
{
    private readonly object _gate = new();
    private ITimer? _renewal;
    private Action<object?>? _onWaitedFor;
    private object? _onWaitedForState;
    private bool _waitedFor;
    private int _renewing;
    private int _completed;

    public LeaseTarget Target { get; } = target;

    /// <summary>The lease's value in Redis, <c>node:token</c>: only this value renews or deletes it.</summary>
    public string Token { get; } = token;

    public long StartSeq { get; } = startSeq;

    public bool IsCompleted => Volatile.Read(ref _completed) == 1;

    public Task CompleteAsync(DistributedCompletion completion) =>
        Interlocked.Exchange(ref _completed, 1) == 1 ? Task.CompletedTask : owner.CompleteAsync(this, completion);

    public void WhenWaitedFor(Action<object?> callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        lock (_gate)
        {
            if (!_waitedFor)
            {
                (_onWaitedFor, _onWaitedForState) = (callback, state);
                return;
            }
        }

        callback(state);
    }

    /// <summary>Another instance waits for this execution (its notice arrived): tell the leader, once.</summary>
    public void MarkWaitedFor()
    {
        Action<object?>? callback;
        object? state;
        lock (_gate)
        {
            if (_waitedFor)
            {
                return;
            }

            _waitedFor = true;
            (callback, state, _onWaitedFor, _onWaitedForState) = (_onWaitedFor, _onWaitedForState, null, null);
        }

        callback?.Invoke(state);
    }

    public void StartRenewing(TimeProvider time, TimeSpan period)
    {
        lock (_gate)
        {
            _renewal ??= time.CreateTimer(static state => _ = ((RedisLease)state!).RenewAsync(), this, period, period);
        }
    }

    public void StopRenewing()
    {
        lock (_gate)
        {
            _renewal?.Dispose();
            _renewal = null;
        }
    }

    /// <summary>Whether a renewal may start now: never two at once, never after completion.</summary>
    public bool TryStartRenewal() => !IsCompleted && Interlocked.Exchange(ref _renewing, 1) == 0;

    public void EndRenewal() => Volatile.Write(ref _renewing, 0);

    private Task RenewAsync() => owner.RenewAsync(this);
}
