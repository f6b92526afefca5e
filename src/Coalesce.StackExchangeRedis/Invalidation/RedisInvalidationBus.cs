using System.Collections.Concurrent;
using System.Globalization;
using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Invalidation across instances over Redis pub/sub, with read-your-writes: by tag, key, pattern, or everything.
/// </summary>
/// <remarks>
/// <para>
/// One mechanism for every kind: an invalidation is a list of items (<see cref="InvalidationWire"/>), and each item
/// has a stamp in Redis (<see cref="RedisKeys.Stamp"/>): a tag's key, a key's stamp, or for a pattern and a clear
/// the stamp that every second-level entry carries. A writer runs <see cref="RedisInvalidationScripts.Publish"/>:
/// the seq grows, each stamp takes the new seq, the log records each item and the message goes out, all in one step,
/// so the second level is correct for every instance at once (a pattern or a clear conservatively drops every shared
/// entry stored before it). Other instances apply the items precisely to their local entries through every
/// <see cref="ILocalEvictor"/> and confirm to the writer, which (with
/// read-your-writes) returns only when every live instance confirmed or stopped being live, or the acknowledgement
/// timeout passed. Messages from this instance are ignored (its caller evicts locally).
/// </para>
/// <para>
/// Pub/sub loses messages while a subscriber is away, so whenever the connection comes back (the breaker's probe)
/// this instance resubscribes, then reads the log after the last seq it applied and evicts those tags; it flushes
/// everything instead when the log has a gap, the seq went back, or Redis has a new epoch (it lost its data). Only
/// then does it heartbeat again and let the second level be used. Invalidations made while Redis is unavailable are
/// queued (latest per item) and published during that same step, before the breaker closes. A message or log entry
/// with an item of a kind this version does not know flushes everything local, as a gap does.
/// </para>
/// </remarks>
internal sealed class RedisInvalidationBus : IDistributedInvalidation, IAsyncDisposable
{
    /// <summary>
    /// The shortest life of a tag key after an invalidation: longer than any leader runs, so a leader that started
    /// before the invalidation finds it when it tries to store and is refused.
    /// </summary>
    internal static readonly TimeSpan TagKeyFloor = TimeSpan.FromHours(1);

    private const int CatchUpLimit = 100_000;

    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisCoalescingOptions _options;
    private readonly ILocalEvictor[] _evictors;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisCounters _counters;
    private readonly ConcurrentDictionary<string, byte> _deferred = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AckWaiter> _waiters = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Action<RedisChannel, RedisValue> _onInvalidation;
    private readonly Action<RedisChannel, RedisValue> _onAck;
    private readonly object _gate = new();
    private ITimer? _heartbeat;
    private long _currentSeq;
    private long _appliedSeq = -1;
    private volatile string? _epoch;
    private volatile bool _synchronized;
    private bool _subscribed;
    private int _beating;
    private long _lastBeat;
    private int _disposed;

    public RedisInvalidationBus(
        RedisConnection connection, IEnumerable<ILocalEvictor> evictors, TimeProvider time,
        ILogger<RedisInvalidationBus> logger, RedisCounters counters)
    {
        _connection = connection;
        _keys = connection.Keys;
        _options = connection.Options;
        _evictors = [.. evictors];
        _time = time;
        _logger = logger;
        _counters = counters;
        _onInvalidation = OnInvalidation;
        _onAck = OnAck;
        connection.Synchronizer = SynchronizeAsync;
        connection.Breaker.Opened += _ => _synchronized = false;
    }

    public long CurrentSeq => Volatile.Read(ref _currentSeq);

    /// <remarks>
    /// Also <see langword="false"/> once this instance's last heartbeat is older than its liveness: writers then stop
    /// waiting for it, so it can no longer vouch for its local entries until it has synchronized again.
    /// </remarks>
    public bool IsSynchronized =>
        _synchronized && !_connection.Breaker.IsOpen && _time.GetElapsedTime(Volatile.Read(ref _lastBeat)) < _options.NodeLiveness;

    /// <summary>Connects (in the background) and starts the heartbeat.</summary>
    public void Start()
    {
        _connection.Start();
        lock (_gate)
        {
            _heartbeat ??= _time.CreateTimer(
                static state => _ = ((RedisInvalidationBus)state!).HeartbeatAsync(), this,
                _options.HeartbeatInterval, _options.HeartbeatInterval);
        }
    }

    public async ValueTask<long?> ReadSeqAsync(CancellationToken cancellationToken)
    {
        var read = await _connection.ExecuteAsync(
            "read seq", _options.ReadBudget, db => db.StringGetAsync(_keys.Seq), cancellationToken).ConfigureAwait(false);
        return read.Succeeded ? (read.Value.IsNull ? 0 : (long)read.Value) : null;
    }

    public Task<long> PublishInvalidationAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken) =>
        PublishAsync(InvalidationItem.Tags(tags), cancellationToken);

    public async Task<long> PublishAsync(IReadOnlyCollection<InvalidationItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var item in items)
        {
            ArgumentNullException.ThrowIfNull(item.Value, nameof(items));
            if (item.Kind == InvalidationKind.Pattern)
            {
                // Checked before anything is queued or sent: every instance must be able to apply it.
                _ = InvalidationItem.Pattern(item.Value);
            }
        }

        var canonical = TagList.Canonical(items.Select(InvalidationWire.Encode));
        if (canonical.Length == 0)
        {
            return 0;
        }

        if (!IsSynchronized)
        {
            Defer(canonical);
            return 0;
        }

        // Anything queued by an earlier failed publish goes out with this one.
        var send = _deferred.IsEmpty ? canonical : TagList.Canonical(canonical.Concat(DrainDeferred()));
        var seq = await PublishCoreAsync(send, _options.ReadYourWrites, whileOpen: false, cancellationToken).ConfigureAwait(false);
        if (seq is null)
        {
            Defer(send);
            return 0;
        }

        return seq.Value;
    }

    /// <summary>Stops heartbeating and leaves: removed from the live set and unsubscribed. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        ITimer? heartbeat;
        lock (_gate)
        {
            heartbeat = _heartbeat;
            _heartbeat = null;
        }

        if (heartbeat is not null)
        {
            await heartbeat.DisposeAsync().ConfigureAwait(false);
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_connection.Multiplexer is { } multiplexer)
        {
            if (_connection.IsAvailable)
            {
                // Leave at once rather than make writers wait for this instance's liveness to lapse.
                await _connection.ExecuteAsync(
                    "leave", _options.ReadBudget, db => db.SortedSetRemoveAsync(_keys.Nodes, _connection.InstanceId),
                    CancellationToken.None).ConfigureAwait(false);
            }

            // A shared multiplexer outlives this instance: take the handlers off it.
            if (_subscribed)
            {
                var subscriber = multiplexer.GetSubscriber();
                try
                {
                    await subscriber.UnsubscribeAsync(_keys.InvalidationChannel, _onInvalidation).WaitAsync(_options.ReadBudget, _time).ConfigureAwait(false);
                    await subscriber.UnsubscribeAsync(_keys.AckChannel(_connection.InstanceId), _onAck).WaitAsync(_options.ReadBudget, _time).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Leaving is best effort; a shared multiplexer drops dead handlers with its connection.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    RedisLog.CallFailed(_logger, ex, "unsubscribe");
                }
            }
        }
    }

    /// <summary>The breaker's probe, after PING answered: resubscribe, catch up, replay the queue, heartbeat.</summary>
    internal async Task<bool> SynchronizeAsync(IConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        // Subscribe afresh every time: whatever happened to the old subscription, this one is known to be live, and the
        // catch-up below covers everything published before it.
        var subscriber = multiplexer.GetSubscriber();
        var invalidations = _keys.InvalidationChannel;
        var acks = _keys.AckChannel(_connection.InstanceId);
        await subscriber.UnsubscribeAsync(invalidations, _onInvalidation).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        await subscriber.UnsubscribeAsync(acks, _onAck).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        await subscriber.SubscribeAsync(invalidations, _onInvalidation).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        await subscriber.SubscribeAsync(acks, _onAck).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        _subscribed = true;

        // Catch up only once the subscription is back: from then on nothing is lost, and what came before is in the log.
        if (!subscriber.IsConnected(_keys.InvalidationChannel) || !await CatchUpAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var queued = DrainDeferred();
        if (queued.Count > 0)
        {
            var seq = await PublishCoreAsync(TagList.Canonical(queued), waitForAcks: false, whileOpen: true, cancellationToken).ConfigureAwait(false);
            if (seq is null)
            {
                Requeue(queued);
                return false;
            }

            RedisLog.InvalidationsReplayed(_logger, queued.Count, seq.Value);
        }

        // Heartbeat, then catch up once more: a writer that published before the heartbeat did not wait for this
        // instance, so its invalidation must be applied here before this instance counts as synchronized.
        if (!(await BeatAsync(whileOpen: true, cancellationToken).ConfigureAwait(false)).Succeeded
            || !await CatchUpAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        _synchronized = true;
        return true;
    }

    private async Task<bool> CatchUpAsync(CancellationToken cancellationToken)
    {
        var applied = Volatile.Read(ref _appliedSeq);
        var read = await _connection.ExecuteAsync(
            "catch up", _options.InvalidationBudget,
            db => db.ScriptEvaluateAsync(
                RedisInvalidationScripts.CatchUp, [_keys.Seq, _keys.Log, _keys.Epoch],
                [Math.Max(applied, 0), Guid.NewGuid().ToString("N"), CatchUpLimit]),
            cancellationToken, whileOpen: true).ConfigureAwait(false);
        if (!read.Succeeded || read.Value is null)
        {
            return false;
        }

        var result = (RedisResult[])read.Value!;
        var seq = (long)result[0];
        var epoch = (string)result[1]!;
        string? flush = null;
        var missed = new HashSet<string>(StringComparer.Ordinal);
        if (applied < 0)
        {
            flush = "first synchronization: invalidations before it could not be followed";
        }
        else if (!string.Equals(epoch, _epoch, StringComparison.Ordinal))
        {
            flush = "Redis has a new epoch (it lost its data)";
        }
        else if (seq < Math.Max(applied, CurrentSeq))
        {
            // Compared with every seq seen in this epoch (this instance's own included), not only the applied ones.
            flush = $"the seq went back from {Math.Max(applied, CurrentSeq)} to {seq} (Redis restarted or rolled back)";
        }
        else if (seq > applied)
        {
            var entries = result.Length - 2;
            var first = entries >= 2 ? (long)result[3] : long.MaxValue;
            if (entries == 0 || first != applied + 1 || entries >= CatchUpLimit * 2)
            {
                flush = $"the log no longer covers seq {applied + 1} to {seq}";
            }
            else
            {
                for (var i = 2; i < result.Length; i += 2)
                {
                    var member = (string)result[i]!;
                    missed.Add(member[(member.IndexOf(':', StringComparison.Ordinal) + 1)..]);
                }
            }
        }

        var items = missed.Count == 0 ? [] : InvalidationWire.TryDecodeAll(missed);
        if (flush is null && items is null)
        {
            flush = "the log holds an invalidation of a kind this version does not know";
        }

        if (flush is not null)
        {
            RedisLog.LocalFlush(_logger, flush);
            await EvictAllAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (items!.Length > 0)
        {
            await EvictAsync(items, seq, cancellationToken).ConfigureAwait(false);
            RedisLog.CaughtUp(_logger, applied, seq, items.Length);
        }

        _epoch = epoch;
        Volatile.Write(ref _appliedSeq, seq);
        SetSeq(seq, allowBackwards: flush is not null);
        return true;
    }

    /// <summary>Publishes items already encoded (<see cref="InvalidationWire"/>) and in canonical order.</summary>
    private async Task<long?> PublishCoreAsync(string[] items, bool waitForAcks, bool whileOpen, CancellationToken cancellationToken)
    {
        var publishId = Guid.NewGuid().ToString("N");
        var waiter = waitForAcks ? new AckWaiter() : null;
        if (waiter is not null)
        {
            _waiters[publishId] = waiter;
        }

        try
        {
            var keys = new RedisKey[4 + items.Length];
            var args = new RedisValue[7 + items.Length];
            (keys[0], keys[1], keys[2], keys[3]) = (_keys.Seq, _keys.Log, _keys.Epoch, _keys.Nodes);
            args[0] = _keys.InvalidationChannel.ToString();
            args[1] = _connection.InstanceId;
            args[2] = publishId;
            args[3] = Guid.NewGuid().ToString("N");
            args[4] = (long)TagKeyFloor.TotalMilliseconds;
            args[5] = _options.InvalidationLogLength;
            args[6] = TagList.Encode(items);
            for (var i = 0; i < items.Length; i++)
            {
                // Encoded by this instance, so always decodable.
                InvalidationWire.TryDecode(items[i], out var item);
                keys[4 + i] = _keys.Stamp(item);
                args[7 + i] = items[i];
            }

            var published = await _connection.ExecuteAsync(
                "publish invalidation", _options.InvalidationBudget,
                db => db.ScriptEvaluateAsync(RedisInvalidationScripts.Publish, keys, args), cancellationToken, whileOpen).ConfigureAwait(false);
            if (!published.Succeeded || published.Value is null)
            {
                return null;
            }

            var result = (RedisResult[])published.Value!;
            var seq = (long)result[0];
            SetSeq(seq, allowBackwards: false);
            _counters.Published();
            if (waiter is not null)
            {
                var live = new Dictionary<string, long>(StringComparer.Ordinal);
                for (var i = 2; i + 1 < result.Length; i += 2)
                {
                    var node = (string)result[i]!;
                    if (!string.Equals(node, _connection.InstanceId, StringComparison.Ordinal))
                    {
                        live[node] = (long)result[i + 1];
                    }
                }

                await WaitForAcksAsync(seq, waiter, live, cancellationToken).ConfigureAwait(false);
            }

            return seq;
        }
        finally
        {
            if (waiter is not null)
            {
                _waiters.TryRemove(publishId, out _);
            }
        }
    }

    /// <summary>
    /// Waits until every instance in <paramref name="live"/> confirmed, or its liveness lapsed (checked against Redis,
    /// as it may have heartbeat since), or <see cref="RedisCoalescingOptions.AckTimeout"/> passed.
    /// </summary>
    private async Task WaitForAcksAsync(long seq, AckWaiter waiter, Dictionary<string, long> live, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var lapsesAt = live.ToDictionary(static n => n.Key, static n => TimeSpan.FromMilliseconds(n.Value), StringComparer.Ordinal);
        waiter.Expect(live.Keys);
        while (true)
        {
            var pending = waiter.Pending();
            var elapsed = _time.GetElapsedTime(started);
            if (pending.Length == 0)
            {
                return;
            }

            if (elapsed >= _options.AckTimeout)
            {
                _counters.AckTimeout();
                RedisLog.AckTimedOut(_logger, seq, string.Join(", ", pending), _options.AckTimeout);
                return;
            }

            var wait = _options.AckTimeout - elapsed;
            foreach (var node in pending)
            {
                var untilLapse = lapsesAt[node] - elapsed;
                wait = untilLapse < wait ? untilLapse : wait;
            }

            try
            {
                await waiter.Completed.WaitAsync(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, _time, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (TimeoutException)
            {
            }

            elapsed = _time.GetElapsedTime(started);
            var lapsed = pending.Where(n => lapsesAt[n] <= elapsed && !waiter.HasAcked(n)).ToArray();
            if (lapsed.Length == 0)
            {
                continue;
            }

            // The instance may have heartbeat since the publish: ask Redis how long it is still live.
            var check = await _connection.ExecuteAsync(
                "check liveness", _options.ReadBudget,
                db => db.ScriptEvaluateAsync(RedisInvalidationScripts.Liveness, [_keys.Nodes], [.. lapsed.Select(static n => (RedisValue)n)]),
                cancellationToken).ConfigureAwait(false);
            var left = check.Succeeded && check.Value is not null ? (RedisResult[])check.Value! : null;
            elapsed = _time.GetElapsedTime(started);
            for (var i = 0; i < lapsed.Length; i++)
            {
                var ms = left is null ? 0 : (long)left[i];
                if (ms <= 0)
                {
                    waiter.Drop(lapsed[i]);
                }
                else
                {
                    lapsesAt[lapsed[i]] = elapsed + TimeSpan.FromMilliseconds(ms);
                }
            }
        }
    }

    private void OnInvalidation(RedisChannel channel, RedisValue message)
    {
        // "source publishId epoch seq encodedItems" (InvalidationWire items in a TagList)
        var text = (string?)message;
        var parts = text?.Split(' ', 5);
        if (parts is not { Length: 5 }
            || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            || !TagList.TryDecode(parts[4], out var encoded))
        {
            RedisLog.MalformedMessage(_logger, channel.ToString());
            return;
        }

        if (string.Equals(parts[0], _connection.InstanceId, StringComparison.Ordinal) || Volatile.Read(ref _disposed) == 1)
        {
            return;
        }

        _ = HandleInvalidationAsync(parts[0], parts[1], parts[2], seq, InvalidationWire.TryDecodeAll(encoded));
    }

    /// <summary>Applies another instance's invalidation here and confirms it to the writer.</summary>
    /// <param name="source">The writer's instance id, whose ack channel gets the confirmation.</param>
    /// <param name="publishId">The writer's id for this publication.</param>
    /// <param name="epoch">The Redis data set the invalidation was made in.</param>
    /// <param name="seq">The invalidation's seq.</param>
    /// <param name="items">What to evict; <see langword="null"/> when an item is of a kind this version does not know (everything goes).</param>
    private async Task HandleInvalidationAsync(string source, string publishId, string epoch, long seq, InvalidationItem[]? items)
    {
        try
        {
            _counters.Received();
            var token = _stopping.Token;
            if (_epoch is not null && !string.Equals(epoch, _epoch, StringComparison.Ordinal))
            {
                // Redis lost its data and another instance noticed first: what this one holds can't be trusted.
                RedisLog.LocalFlush(_logger, "an invalidation carries a new epoch");
                _epoch = epoch;
                SetSeq(seq, allowBackwards: true);
                await EvictAllAsync(token).ConfigureAwait(false);
            }
            else if (items is null)
            {
                RedisLog.LocalFlush(_logger, "an invalidation holds an item of a kind this version does not know");
                SetSeq(seq, allowBackwards: false);
                await EvictAllAsync(token).ConfigureAwait(false);
            }
            else
            {
                SetSeq(seq, allowBackwards: false);
                await EvictAsync(items, seq, token).ConfigureAwait(false);
            }

            if (_synchronized)
            {
                InterlockedMax(ref _appliedSeq, seq);
            }

            // Acknowledged even while the breaker is open: the eviction happened, and the writer may be waiting for it.
            await _connection.ExecuteAsync(
                "acknowledge", _options.InvalidationBudget,
                db => db.PublishAsync(_keys.AckChannel(source), _connection.InstanceId + " " + publishId), token, whileOpen: true).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // A message handler must never throw into the Redis client.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RedisLog.HandlingFailed(_logger, ex);
        }
    }

    private void OnAck(RedisChannel channel, RedisValue message)
    {
        // "node publishId"
        var text = (string?)message;
        var space = text?.IndexOf(' ', StringComparison.Ordinal) ?? -1;
        if (space <= 0)
        {
            RedisLog.MalformedMessage(_logger, channel.ToString());
            return;
        }

        if (_waiters.TryGetValue(text![(space + 1)..], out var waiter))
        {
            waiter.Ack(text[..space]);
        }
    }

    private async Task HeartbeatAsync()
    {
        if (!_synchronized || _connection.Breaker.IsOpen || Interlocked.Exchange(ref _beating, 1) == 1)
        {
            return;
        }

        if (_time.GetElapsedTime(Volatile.Read(ref _lastBeat)) >= _options.NodeLiveness)
        {
            // Writers have stopped waiting for this instance: it may have missed an invalidation's wait. Start over.
            _synchronized = false;
            Volatile.Write(ref _beating, 0);
            _connection.Breaker.Open("this instance's heartbeat lapsed");
            return;
        }

        try
        {
            await BeatAsync(whileOpen: false, _stopping.Token).ConfigureAwait(false);
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

    private async ValueTask<Attempt<RedisResult>> BeatAsync(bool whileOpen, CancellationToken cancellationToken)
    {
        // Timed from before the call: Redis stamps the liveness later, so this instance never thinks it is live longer than writers do.
        var sent = _time.GetTimestamp();
        var beat = await _connection.ExecuteAsync(
            "heartbeat", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(
                RedisInvalidationScripts.Heartbeat, [_keys.Nodes],
                [_connection.InstanceId, (long)_options.NodeLiveness.TotalMilliseconds]),
            cancellationToken, whileOpen).ConfigureAwait(false);
        if (beat.Succeeded)
        {
            Volatile.Write(ref _lastBeat, sent);
        }

        return beat;
    }

    private async Task EvictAsync(InvalidationItem[] items, long seq, CancellationToken cancellationToken)
    {
        foreach (var evictor in _evictors)
        {
            try
            {
                await evictor.EvictAsync(items, seq, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                RedisLog.EvictorFailed(_logger, ex, evictor.GetType().Name);
            }
        }
    }

    private async Task EvictAllAsync(CancellationToken cancellationToken)
    {
        foreach (var evictor in _evictors)
        {
            try
            {
                await evictor.EvictAllAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                RedisLog.EvictorFailed(_logger, ex, evictor.GetType().Name);
            }
        }
    }

    private void Defer(IReadOnlyCollection<string> items)
    {
        Requeue(items);
        _counters.Deferred();
        RedisLog.InvalidationDeferred(_logger, InvalidationWire.Describe(items));
    }

    /// <summary>Queues encoded items (<see cref="InvalidationWire"/>); the queue holds each item once.</summary>
    private void Requeue(IEnumerable<string> items)
    {
        foreach (var item in items)
        {
            _deferred[item] = 0;
        }
    }

    private List<string> DrainDeferred()
    {
        var drained = new List<string>();
        foreach (var tag in _deferred.Keys)
        {
            if (_deferred.TryRemove(tag, out _))
            {
                drained.Add(tag);
            }
        }

        return drained;
    }

    private void SetSeq(long seq, bool allowBackwards)
    {
        if (allowBackwards)
        {
            Volatile.Write(ref _currentSeq, seq);
        }
        else
        {
            InterlockedMax(ref _currentSeq, seq);
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>One writer's wait for confirmations. Confirmations that arrive before the live set is known are kept.</summary>
    private sealed class AckWaiter
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
}
