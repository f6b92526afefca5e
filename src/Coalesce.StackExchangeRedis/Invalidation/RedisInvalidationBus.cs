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
/// the stamp that every second-level entry carries. A writer publishes (<see cref="InvalidationPublisher"/>): the seq
/// grows, each stamp takes the new seq, the log records each item and the message goes out, all in one step, so the
/// second level is correct for every instance at once (a pattern or a clear conservatively drops every shared entry
/// stored before it). Other instances apply the items precisely to their local entries
/// (<see cref="InvalidationReceiver"/>) and confirm to the writer, which (with read-your-writes) returns only when
/// every live instance (<see cref="InstanceHeartbeat"/>) confirmed or stopped being live, or the acknowledgement
/// timeout passed (<see cref="AckTracker"/>). Messages from this instance are ignored (its caller evicts locally).
/// </para>
/// <para>
/// Pub/sub loses messages while a subscriber is away, so whenever the connection comes back (the breaker's probe)
/// this instance resubscribes, then catches up from the log (<see cref="InvalidationCatchUp"/>). Only then does it
/// heartbeat again and let the second level be used. Invalidations made while Redis is unavailable are queued
/// (<see cref="DeferredInvalidations"/>) and published during that same step, before the breaker closes.
/// </para>
/// </remarks>
internal sealed class RedisInvalidationBus : IDistributedInvalidation, IAsyncDisposable
{
    private readonly RedisConnection _connection;
    private readonly RedisCoalescingOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TimeProvider _time;
    private readonly InvalidationProgress _progress;
    private readonly DeferredInvalidations _deferred;
    private readonly InvalidationPublisher _publisher;
    private readonly InvalidationReceiver _receiver;
    private readonly InvalidationCatchUp _catchUp;
    private readonly InstanceHeartbeat _heartbeat;
    private int _disposed;

    public RedisInvalidationBus(
        RedisConnection connection, IEnumerable<ILocalEvictor> evictors, TimeProvider time,
        ILogger<RedisInvalidationBus> logger, RedisCounters counters)
    {
        _connection = connection;
        _options = connection.Options;
        _logger = logger;
        _time = time;
        _progress = new InvalidationProgress(time.GetUtcNow());
        var local = new LocalEvictors(evictors, logger);
        var acks = new AckTracker(connection, time, logger, counters);
        _deferred = new DeferredInvalidations(logger, counters);
        _publisher = new InvalidationPublisher(connection, _progress, acks, time, counters);
        _receiver = new InvalidationReceiver(connection, _progress, local, acks, time, logger, counters, _stopping.Token);
        _catchUp = new InvalidationCatchUp(connection, _progress, local, logger);
        _heartbeat = new InstanceHeartbeat(connection, _progress, time, _stopping.Token);
        connection.Synchronizer = SynchronizeAsync;
        connection.Breaker.Opened += reason => _progress.MarkNotSynchronized($"Redis is left alone: {reason}", time.GetUtcNow());
    }

    public long CurrentSeq => _progress.CurrentSeq;

    /// <remarks>
    /// Also <see langword="false"/> once this instance's last heartbeat is older than its liveness: writers then stop
    /// waiting for it, so it can no longer vouch for its local entries until it has synchronized again.
    /// </remarks>
    public bool IsSynchronized => _progress.Synchronized && !_connection.Breaker.IsOpen && _heartbeat.IsLive;

    /// <summary>
    /// Since when and why this instance is not synchronized (<see cref="IsSynchronized"/> is <see langword="false"/>);
    /// <see langword="null"/> while it is.
    /// </summary>
    public NotSynchronized? NotSynchronized
    {
        get
        {
            if (IsSynchronized)
            {
                return null;
            }

            // The heartbeat's own check notices a lapse at its next tick; until then, say so from here.
            return _progress.NotSynchronized
                ?? new NotSynchronized(_time.GetUtcNow() - _heartbeat.SinceLastBeat + _options.NodeLiveness, "this instance's heartbeat lapsed");
        }
    }

    /// <summary>Connects (in the background) and starts the heartbeat.</summary>
    public void Start()
    {
        _connection.Start();
        _heartbeat.Start();
    }

    public async ValueTask<long?> ReadSeqAsync(CancellationToken cancellationToken)
    {
        var read = await _connection.ExecuteAsync(
            "read seq", _options.ReadBudget, db => db.StringGetAsync(_connection.Keys.Seq), cancellationToken).ConfigureAwait(false);
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
            _deferred.Defer(canonical);
            return 0;
        }

        // Anything queued by an earlier failed publish goes out with this one.
        var send = _deferred.IsEmpty ? canonical : TagList.Canonical(canonical.Concat(_deferred.Drain()));
        var seq = await _publisher.PublishAsync(send, _options.ReadYourWrites, whileOpen: false, cancellationToken).ConfigureAwait(false);
        if (seq is null)
        {
            _deferred.Defer(send);
            return 0;
        }

        return seq.Value;
    }

    /// <remarks>
    /// With <see cref="RedisCoalescingOptions.ReadYourWrites"/> (the default) the rule is: <see langword="true"/> only
    /// once the invalidation is in Redis (the second level is right for every instance) and every instance live at
    /// that moment confirmed it or stopped being live (an instance that is not live does not serve tagged local
    /// entries). All of it within one bound, <see cref="RedisCoalescingOptions.AckTimeout"/>, which the publish may
    /// use past its usual budget, also while the breaker is open: a slow link delays the write, never its truth.
    /// Without a connection, or when the bound passes, the answer is <see langword="false"/> and the items are queued
    /// (unless they were published), to go out before this instance uses Redis again. Without read-your-writes this is
    /// <see cref="PublishInvalidationAsync"/>, and always <see langword="true"/>.
    /// </remarks>
    public async Task<bool> ConfirmWriteAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tags);
        if (!_options.ReadYourWrites)
        {
            await PublishInvalidationAsync(tags, cancellationToken).ConfigureAwait(false);
            return true;
        }

        var canonical = TagList.Canonical(InvalidationItem.Tags(tags).Select(InvalidationWire.Encode));
        if (canonical.Length == 0)
        {
            return true;
        }

        var send = _deferred.IsEmpty ? canonical : TagList.Canonical(canonical.Concat(_deferred.Drain()));
        if (!_connection.IsConnected)
        {
            // No link at all: nothing can reach the others, and waiting would only delay the same answer.
            _deferred.Defer(send);
            RedisLog.WriteNotConfirmed(_logger, InvalidationWire.Describe(canonical), "no connection to Redis", _options.AckTimeout);
            return false;
        }

        var sent = await _publisher.PublishAsync(send, _options.AckTimeout, _options.AckTimeout, whileOpen: true, cancellationToken).ConfigureAwait(false);
        if (sent.Seq is null)
        {
            _deferred.Defer(send);
            RedisLog.WriteNotConfirmed(_logger, InvalidationWire.Describe(canonical), "Redis did not answer the publish", _options.AckTimeout);
            return false;
        }

        if (!sent.Confirmed)
        {
            RedisLog.WriteNotConfirmed(_logger, InvalidationWire.Describe(canonical), "a live instance did not confirm", _options.AckTimeout);
        }

        return sent.Confirmed;
    }

    /// <summary>Stops heartbeating and leaves: removed from the live set and unsubscribed. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _receiver.Stop();
        await _heartbeat.DisposeAsync().ConfigureAwait(false);
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_connection.Multiplexer is { } multiplexer)
        {
            if (_connection.IsAvailable)
            {
                await _heartbeat.LeaveAsync().ConfigureAwait(false);
            }

            // A shared multiplexer outlives this instance: take the handlers off it.
            await _receiver.UnsubscribeAsync(multiplexer).ConfigureAwait(false);
        }
    }

    /// <summary>The breaker's probe, after PING answered: resubscribe, catch up, replay the queue, heartbeat.</summary>
    internal async Task<bool> SynchronizeAsync(IConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        // Catch up only once the subscription is back: from then on nothing is lost, and what came before is in the log.
        if (!await _receiver.SubscribeAsync(multiplexer, cancellationToken).ConfigureAwait(false)
            || !await _catchUp.RunAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        var queued = _deferred.Drain();
        if (queued.Count > 0)
        {
            var seq = await _publisher.PublishAsync(TagList.Canonical(queued), waitForAcks: false, whileOpen: true, cancellationToken).ConfigureAwait(false);
            if (seq is null)
            {
                _deferred.Requeue(queued);
                return false;
            }

            RedisLog.InvalidationsReplayed(_logger, queued.Count, seq.Value);
        }

        // Heartbeat, then catch up once more: a writer that published before the heartbeat did not wait for this
        // instance, so its invalidation must be applied here before this instance counts as synchronized.
        if (!await _heartbeat.BeatAsync(whileOpen: true, cancellationToken).ConfigureAwait(false)
            || !await _catchUp.RunAsync(cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        _progress.MarkSynchronized();
        return true;
    }
}
