using System.Globalization;
using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// One execution per key across instances, on Redis (<see cref="RedisSingleFlightScripts"/>): a lease per key,
/// notices on one channel, and polling as the fallback.
/// </summary>
/// <remarks>
/// <para>
/// <b>Lead.</b> <see cref="LeadOrWaitAsync"/> runs <c>TryLead</c>, which answers with a valid entry, the awaited
/// lease's fill, the pass marker, the lease (this instance leads: a <see cref="RedisLease"/> kept by the
/// <see cref="LeaseKeeper"/>, renewed while the endpoint runs) or "wait" with the holder's token.
/// </para>
/// <para>
/// <b>Wait.</b> "Wait" also marks the holder's lease as waited for (<c>w:{hash}</c> = its token) and, the first time,
/// tells the holder, whose leader then keeps a copy of its response (<see cref="RedisLease.WhenWaitedFor"/>): a lease
/// nobody waits for (the unique-key path) ends without a copy, a payload or a notice. A waiter registers for its
/// holder's token (<see cref="FillWaiters"/>) and sleeps until the holder's notice (<see cref="FillNotice"/>) arrives on
/// the one fill subscription of this instance, or until its next poll (25 ms, doubling to 250 ms, with jitter): a lost
/// notice costs latency, not correctness. A notice of a stored entry answers at once; any other runs <c>TryLead</c>
/// again, which finds the fill or the pass marker, or wins the lease (the holder released it without a result, or
/// died and its lease lapsed: a takeover). The wait ends at the caller's timeout, and at once when Redis is left
/// alone (the breaker opened): the caller then runs the endpoint itself.
/// </para>
/// <para>
/// <b>Complete.</b> <see cref="RedisLease.CompleteAsync"/> hands the outcome to the <see cref="LeaseKeeper"/>, which
/// shares what it may, deletes the lease and tells the waiters. A holder that died never completes: its lease lapses.
/// </para>
/// <para>
/// No fencing: a holder that lost its lease (it hung past the lease without Redis) may still complete, and then a
/// second execution's result is stored too; the start seq keeps either from storing stale data.
/// </para>
/// </remarks>
internal sealed class RedisSingleFlight : IDistributedSingleFlight, IAsyncDisposable
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisCoalescingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisCounters _counters;
    private readonly Action<RedisChannel, RedisValue> _onNotice;
    private readonly Action<string> _onBreakerOpened;
    private readonly Action<TimeSpan> _onBreakerClosed;
    private readonly FillWaiters _waiters = new();
    private readonly LeaseKeeper _leases;
    private int _subscribing;
    private long _waitedForNotices;
    private volatile bool _subscribed;
    private volatile bool _disposed;

    public RedisSingleFlight(RedisConnection connection, TimeProvider time, ILogger<RedisSingleFlight> logger, RedisCounters counters)
    {
        _connection = connection;
        _keys = connection.Keys;
        _options = connection.Options;
        _time = time;
        _logger = logger;
        _counters = counters;
        _leases = new LeaseKeeper(connection, time, logger, counters);
        _onNotice = OnNotice;
        _onBreakerOpened = _ => _waiters.WakeAll(FillNotice.Unavailable);
        _onBreakerClosed = openFor => _ = SubscribeAsync();
        connection.Breaker.Opened += _onBreakerOpened;
        connection.Breaker.Closed += _onBreakerClosed;
        if (connection.IsAvailable)
        {
            _ = SubscribeAsync();
        }
    }

    public bool Enabled => _options.CoalesceAcrossInstances;

    /// <summary>Whether the fill subscription is in place (waiters then wake on notices, not only by polling).</summary>
    internal bool IsSubscribed => _subscribed;

    /// <summary>How many of this instance's leases were told that another instance waits for them.</summary>
    internal long WaitedForNotices => Interlocked.Read(ref _waitedForNotices);

    public async ValueTask<DistributedFlight> LeadOrWaitAsync(
        string key, IReadOnlyCollection<string> tags, bool memoized, TimeSpan waitTimeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(tags);
        if (_disposed || !_connection.IsAvailable)
        {
            return DistributedFlight.RunHere;
        }

        var target = new LeaseTarget(key, _keys.Flight(key), tags, _keys);
        var token = _connection.InstanceId + ":" + Guid.NewGuid().ToString("N");
        var deadline = waitTimeout == Timeout.InfiniteTimeSpan ? TimeSpan.MaxValue : waitTimeout;
        var started = _time.GetTimestamp();
        var poll = _options.RemoteWaitPollInterval;
        string? holder = null;
        FillWaiters.Awaited? awaited = null;
        try
        {
            while (true)
            {
                var answer = await TryLeadAsync(target, memoized, token, holder, cancellationToken).ConfigureAwait(false);
                switch (answer.Kind)
                {
                    case LeadAnswerKind.None:
                        return DistributedFlight.RunHere;
                    case LeadAnswerKind.Lead:
                        _counters.LeaseWon();
                        if (holder is not null)
                        {
                            _counters.Takeover();
                            var waited = _time.GetElapsedTime(started);
                            RedisLog.LeaseTakenOver(_logger, waited);
                        }

                        return new DistributedFlight(DistributedFlightKind.Lead, _leases.Start(target, token, answer.Seq));
                    case LeadAnswerKind.Entry:
                        return new DistributedFlight(DistributedFlightKind.Stored);
                    case LeadAnswerKind.Fill:
                        return new DistributedFlight(DistributedFlightKind.Filled, Payload: answer.Payload);
                    case LeadAnswerKind.Pass:
                        return new DistributedFlight(DistributedFlightKind.Pass, PassThrough: TimeSpan.FromMilliseconds(answer.Milliseconds));
                }

                // Another instance leads. One remote wait per key per instance: this instance's other requests for the key
                // wait behind this one locally. Counted once registered, so from then on no notice is missed.
                var first = holder is null;
                if (awaited is null || !string.Equals(holder, answer.Holder, StringComparison.Ordinal))
                {
                    _waiters.Unregister(target.Keys.Hash, holder, awaited);
                    holder = answer.Holder ?? string.Empty;
                    awaited = _waiters.Register(target.Keys.Hash, holder);
                }

                if (first)
                {
                    _counters.RemoteWait();
                }

                var remaining = deadline - _time.GetElapsedTime(started);
                if (remaining <= TimeSpan.Zero)
                {
                    RedisLog.RemoteWaitTimedOut(_logger, waitTimeout);
                    return DistributedFlight.RunHere;
                }

                var sleep = Jitter(poll);
                var signal = awaited.Signal.Task;
                await ((Task)signal).WaitAsync(sleep < remaining ? sleep : remaining, _time, cancellationToken)
                    .ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                cancellationToken.ThrowIfCancellationRequested();
                if (!signal.IsCompleted)
                {
                    poll = poll * 2 < _options.RemoteWaitMaxPollInterval ? poll * 2 : _options.RemoteWaitMaxPollInterval;
                    continue;
                }

                // The holder's execution ended. A later wait for the same holder needs a fresh registration; its fill
                // key (the holder's token) is still the one to look for.
                _waiters.Unregister(target.Keys.Hash, holder, awaited);
                awaited = null;
                var notice = signal.Result;
                switch (notice.Mode)
                {
                    case FillNotice.Stored:
                        _counters.FillReceived();
                        return new DistributedFlight(DistributedFlightKind.Stored);
                    case FillNotice.Fill:
                        _counters.FillReceived();
                        break;
                    case FillNotice.Pass:
                        return new DistributedFlight(DistributedFlightKind.Pass, PassThrough: TimeSpan.FromMilliseconds(notice.Milliseconds));
                    case FillNotice.UnavailableMode:
                        return DistributedFlight.RunHere;
                }

                // A fill (read by TryLead), or a release: ask again at once, from the first poll interval.
                poll = _options.RemoteWaitPollInterval;
            }
        }
        finally
        {
            _waiters.Unregister(target.Keys.Hash, holder, awaited);
        }
    }

    /// <summary>Stops renewing every lease (their holders' executions can't complete through this instance any more) and leaves the channel.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _connection.Breaker.Opened -= _onBreakerOpened;
        _connection.Breaker.Closed -= _onBreakerClosed;
        _leases.StopAll();
        _waiters.WakeAll(FillNotice.Unavailable);
        if (_subscribed && _connection.Multiplexer is { } multiplexer)
        {
            try
            {
                await multiplexer.GetSubscriber().UnsubscribeAsync(_keys.FillChannel, _onNotice).WaitAsync(_options.ReadBudget, _time).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // Leaving is best effort; a shared multiplexer drops dead handlers with its connection.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                RedisLog.CallFailed(_logger, ex, "unsubscribe fills");
            }
        }
    }

    private async ValueTask<LeadAnswer> TryLeadAsync(LeaseTarget target, bool memoized, string token, string? holder, CancellationToken cancellationToken)
    {
        if (_connection.IsCluster)
        {
            return await TryLeadOnClusterAsync(target, memoized, token, holder, cancellationToken).ConfigureAwait(false);
        }

        RedisValue[] args =
        [
            RedisSecondLevelScripts.FormatVersion, target.Key, target.EncodedTags, memoized ? "1" : "0", token, _leases.LeaseMilliseconds,
            _keys.FillChannel.ToString(), target.Keys.Hash,
        ];
        var attempt = await _connection.ExecuteAsync(
            "try lead", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisSingleFlightScripts.TryLead, target.ScriptKeys(_keys, holder), args),
            cancellationToken).ConfigureAwait(false);
        if (!attempt.Succeeded || attempt.Value is null)
        {
            return default;
        }

        var result = (RedisResult[])attempt.Value!;
        var seq = (long)result[1];
        return (string)result[0]! switch
        {
            "lead" => new LeadAnswer(LeadAnswerKind.Lead, seq),
            "entry" => new LeadAnswer(LeadAnswerKind.Entry, seq),
            "fill" => new LeadAnswer(LeadAnswerKind.Fill, seq, Payload: (byte[])result[2]!),
            "pass" => new LeadAnswer(LeadAnswerKind.Pass, seq, Milliseconds: (long)result[2]),
            _ => new LeadAnswer(LeadAnswerKind.Wait, seq, Holder: (string)result[2]!),
        };
    }

    /// <summary>
    /// <c>TryLead</c> on a Redis Cluster: the key's own slot and an <c>MGET</c> of the seq and the stamps in the shared
    /// slot, in one round trip. An entry or a fill the stamps show stale is skipped by asking again without it.
    /// </summary>
    private async ValueTask<LeadAnswer> TryLeadOnClusterAsync(LeaseTarget target, bool memoized, string token, string? holder, CancellationToken cancellationToken)
    {
        var keys = target.OwnSlotKeys(holder);
        var seqAndStamps = target.SeqAndStamps(_keys);
        var (checkEntry, checkFill) = (memoized, true);
        while (true)
        {
            RedisValue[] args =
            [
                RedisSecondLevelScripts.FormatVersion, target.Key, target.EncodedTags, checkEntry ? "1" : "0", token, _leases.LeaseMilliseconds,
                _keys.FillChannel.ToString(), target.Keys.Hash, checkFill ? "1" : "0",
            ];
            var attempt = await _connection.ExecuteAsync(
                "try lead", _options.ReadBudget,
                async db =>
                {
                    var stamps = db.StringGetAsync(seqAndStamps);
                    var own = db.ScriptEvaluateAsync(RedisSingleFlightScripts.ClusterTryLead, keys, args);
                    return (Stamps: await stamps.ConfigureAwait(false), Own: await own.ConfigureAwait(false));
                },
                cancellationToken).ConfigureAwait(false);
            if (!attempt.Succeeded || attempt.Value.Own is null)
            {
                return default;
            }

            var result = (RedisResult[])attempt.Value.Own!;
            var values = attempt.Value.Stamps;
            var seq = values[0].IsNull ? 0 : (long)values[0];
            switch ((string)result[0]!)
            {
                case "lead":
                    return new LeadAnswer(LeadAnswerKind.Lead, seq);
                case "entry" when RedisSecondLevelScripts.IsFresh(values, (long)result[1], stampsMustExist: true):
                    return new LeadAnswer(LeadAnswerKind.Entry, seq);
                case "entry":
                    checkEntry = false;
                    continue;
                case "fill" when RedisSecondLevelScripts.IsFresh(values, (long)result[1], stampsMustExist: false):
                    return new LeadAnswer(LeadAnswerKind.Fill, seq, Payload: (byte[])result[2]!);
                case "fill":
                    checkFill = false;
                    continue;
                case "pass":
                    return new LeadAnswer(LeadAnswerKind.Pass, seq, Milliseconds: (long)result[1]);
                default:
                    return new LeadAnswer(LeadAnswerKind.Wait, seq, Holder: (string)result[1]!);
            }
        }
    }

    private async Task SubscribeAsync()
    {
        if (_disposed || _connection.Multiplexer is not { } multiplexer || Interlocked.Exchange(ref _subscribing, 1) == 1)
        {
            return;
        }

        try
        {
            // Afresh, as the invalidation bus does after every reconnect: this subscription is then known to be live.
            var subscriber = multiplexer.GetSubscriber();
            await subscriber.UnsubscribeAsync(_keys.FillChannel, _onNotice).WaitAsync(_options.InvalidationBudget, _time).ConfigureAwait(false);
            await subscriber.SubscribeAsync(_keys.FillChannel, _onNotice).WaitAsync(_options.InvalidationBudget, _time).ConfigureAwait(false);
            _subscribed = true;
        }
#pragma warning disable CA1031 // Without the subscription waiters still poll; the next time the breaker closes it is tried again.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _subscribed = false;
            RedisLog.CallFailed(_logger, ex, "subscribe fills");
        }
        finally
        {
            Volatile.Write(ref _subscribing, 0);
        }
    }

    private void OnNotice(RedisChannel channel, RedisValue message)
    {
        // "hash token mode ms"; this instance's own notices count too (a newer local flight may wait on an older one).
        var parts = ((string?)message)?.Split(' ');
        if (parts is not { Length: 4 } || !long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
        {
            RedisLog.MalformedMessage(_logger, channel.ToString());
            return;
        }

        if (parts[2] == FillNotice.Waiting)
        {
            // For the holder: an instance waits for its execution.
            if (_leases.MarkWaitedFor(parts[1]))
            {
                Interlocked.Increment(ref _waitedForNotices);
            }

            return;
        }

        _waiters.Signal(parts[0], parts[1], new FillNotice(parts[2], milliseconds));
    }

#pragma warning disable CA5394 // Jitter spreads polls apart; it needs no unpredictability.
    private static TimeSpan Jitter(TimeSpan poll) => poll * (0.75 + (Random.Shared.NextDouble() / 2));
#pragma warning restore CA5394

    private enum LeadAnswerKind
    {
        None,
        Lead,
        Entry,
        Fill,
        Pass,
        Wait,
    }

    /// <summary><c>TryLead</c>'s answer; <see cref="LeadAnswerKind.None"/> when Redis gave none in time.</summary>
    private readonly record struct LeadAnswer(LeadAnswerKind Kind, long Seq, byte[]? Payload = null, long Milliseconds = 0, string? Holder = null);
}
