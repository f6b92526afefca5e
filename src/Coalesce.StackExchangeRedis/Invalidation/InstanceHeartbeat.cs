namespace Coalesce.StackExchangeRedis;

/// <summary>
/// This instance's liveness in Redis (<see cref="RedisKeys.Nodes"/>): writers wait for the confirmation of every live
/// instance, so a heartbeat is a promise to follow invalidations. Beats every
/// <see cref="RedisCoalescingOptions.HeartbeatInterval"/> while synchronized; when its own last beat is older than
/// <see cref="RedisCoalescingOptions.NodeLiveness"/>, writers have stopped waiting for it, so it opens the breaker and
/// synchronizes again.
/// </summary>
internal sealed class InstanceHeartbeat : IAsyncDisposable
{
    private readonly RedisConnection _connection;
    private readonly RedisCoalescingOptions _options;
    private readonly InvalidationProgress _progress;
    private readonly TimeProvider _time;
    private readonly CancellationToken _stopping;
    private readonly object _gate = new();
    private ITimer? _timer;
    private int _beating;
    private long _lastBeat;

    public InstanceHeartbeat(RedisConnection connection, InvalidationProgress progress, TimeProvider time, CancellationToken stopping)
    {
        _connection = connection;
        _options = connection.Options;
        _progress = progress;
        _time = time;
        _stopping = stopping;
    }

    /// <summary>
    /// Whether writers still count this instance as live: its last successful beat, timed from before it was sent, is
    /// younger than its liveness. Redis stamps the liveness later, so this is never true longer than writers think.
    /// </summary>
    public bool IsLive => _time.GetElapsedTime(Volatile.Read(ref _lastBeat)) < _options.NodeLiveness;

    /// <summary>How long ago the last successful beat was sent.</summary>
    public TimeSpan SinceLastBeat => _time.GetElapsedTime(Volatile.Read(ref _lastBeat));

    /// <summary>Starts the timer; safe to call more than once.</summary>
    public void Start()
    {
        lock (_gate)
        {
            _timer ??= _time.CreateTimer(
                static state => _ = ((InstanceHeartbeat)state!).TickAsync(), this,
                _options.HeartbeatInterval, _options.HeartbeatInterval);
        }
    }

    /// <summary>One beat; <see langword="true"/> when Redis recorded it.</summary>
    public async ValueTask<bool> BeatAsync(bool whileOpen, CancellationToken cancellationToken)
    {
        // Timed from before the call: Redis stamps the liveness later, so this instance never thinks it is live longer than writers do.
        var sent = _time.GetTimestamp();
        var keys = _connection.Keys;
        var beat = await _connection.ExecuteAsync(
            "heartbeat", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(
                RedisInvalidationScripts.Heartbeat, [keys.Nodes],
                [_connection.InstanceId, (long)_options.NodeLiveness.TotalMilliseconds]),
            cancellationToken, whileOpen).ConfigureAwait(false);
        if (beat.Succeeded)
        {
            Volatile.Write(ref _lastBeat, sent);
        }

        return beat.Succeeded;
    }

    /// <summary>Leaves the live set at once, rather than make writers wait for this instance's liveness to lapse.</summary>
    public async Task LeaveAsync()
    {
        await _connection.ExecuteAsync(
            "leave", _options.ReadBudget, db => db.SortedSetRemoveAsync(_connection.Keys.Nodes, _connection.InstanceId),
            CancellationToken.None).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        ITimer? timer;
        lock (_gate)
        {
            timer = _timer;
            _timer = null;
        }

        if (timer is not null)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task TickAsync()
    {
        if (!_progress.Synchronized || _connection.Breaker.IsOpen || Interlocked.Exchange(ref _beating, 1) == 1)
        {
            return;
        }

        if (!IsLive)
        {
            // Writers have stopped waiting for this instance: it may have missed an invalidation's wait. Start over.
            const string reason = "this instance's heartbeat lapsed";
            _progress.MarkNotSynchronized(reason, _time.GetUtcNow());
            Volatile.Write(ref _beating, 0);
            _connection.Breaker.Open(reason);
            return;
        }

        try
        {
            await BeatAsync(whileOpen: false, _stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            Volatile.Write(ref _beating, 0);
        }
    }
}
