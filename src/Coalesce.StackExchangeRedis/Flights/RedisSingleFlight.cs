using System.Collections.Concurrent;
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
/// lease's fill, the pass marker, the lease (this instance leads: <see cref="RedisLease"/>, renewed every third of
/// <see cref="RedisCoalescingOptions.LeaseDuration"/> while the endpoint runs) or "wait" with the holder's token.
/// </para>
/// <para>
/// <b>Wait.</b> "Wait" also marks the holder's lease as waited for (<c>w:{hash}</c> = its token) and, the first time,
/// tells the holder, whose leader then keeps a copy of its response (<see cref="RedisLease.WhenWaitedFor"/>): a lease
/// nobody waits for (the unique-key path) ends without a copy, a payload or a notice. A waiter registers for its
/// holder's token and sleeps until the holder's notice arrives on the one
/// fill subscription of this instance, or until its next poll (25 ms, doubling to 250 ms, with jitter): a lost
/// notice costs latency, not correctness. A notice of a stored entry answers at once; any other runs <c>TryLead</c>
/// again, which finds the fill or the pass marker, or wins the lease (the holder released it without a result, or
/// died and its lease lapsed: a takeover). The wait ends at the caller's timeout, and at once when Redis is left
/// alone (the breaker opened): the caller then runs the endpoint itself.
/// </para>
/// <para>
/// <b>Complete.</b> <see cref="RedisLease.CompleteAsync"/> runs <c>Complete</c>: stores the entry, or the fill (only
/// when an instance waits: a first step without the payload asks), each only while no tag was invalidated after the
/// lease's start seq, or sets the pass marker; deletes the lease if it is still this one; and, when an instance waits,
/// publishes the notice. A holder that died never completes: its lease lapses.
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
    private readonly Dictionary<string, Awaited> _waiting = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RedisLease> _leases = new(StringComparer.Ordinal);
    private readonly long _leaseMilliseconds;
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
        _leaseMilliseconds = (long)Math.Ceiling(_options.LeaseDuration.TotalMilliseconds);
        _onNotice = OnNotice;
        _onBreakerOpened = _ => WakeAll(Notice.Unavailable);
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
        Awaited? awaited = null;
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

                        return new DistributedFlight(DistributedFlightKind.Lead, StartLease(target, token, answer.Seq));
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
                    Unregister(target.Keys.Hash, holder, awaited);
                    holder = answer.Holder ?? string.Empty;
                    awaited = Register(target.Keys.Hash, holder);
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
                Unregister(target.Keys.Hash, holder, awaited);
                awaited = null;
                var notice = signal.Result;
                switch (notice.Mode)
                {
                    case Notice.Stored:
                        _counters.FillReceived();
                        return new DistributedFlight(DistributedFlightKind.Stored);
                    case Notice.Fill:
                        _counters.FillReceived();
                        break;
                    case Notice.Pass:
                        return new DistributedFlight(DistributedFlightKind.Pass, PassThrough: TimeSpan.FromMilliseconds(notice.Milliseconds));
                    case Notice.UnavailableMode:
                        return DistributedFlight.RunHere;
                }

                // A fill (read by TryLead), or a release: ask again at once, from the first poll interval.
                poll = _options.RemoteWaitPollInterval;
            }
        }
        finally
        {
            Unregister(target.Keys.Hash, holder, awaited);
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
        foreach (var (_, lease) in _leases)
        {
            lease.StopRenewing();
        }

        _leases.Clear();
        WakeAll(Notice.Unavailable);
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

    /// <summary>Ends a lease: shares what it may, deletes it, tells the waiters. Never throws.</summary>
    internal async Task CompleteAsync(RedisLease lease, DistributedCompletion completion)
    {
        lease.StopRenewing();
        _leases.TryRemove(lease.Token, out _);
        if (_disposed)
        {
            return;
        }

        try
        {
            switch (completion.Kind)
            {
                case DistributedCompletionKind.Store:
                    await CompleteWithAsync(lease, Notice.Stored, completion.Render!(), Milliseconds(completion.Duration)).ConfigureAwait(false);
                    break;
                case DistributedCompletionKind.Fill:
                    // Sent only if an instance waits for it: most executions (unique keys) are waited for by none.
                    if (await CompleteWithAsync(lease, Offer, null, 0).ConfigureAwait(false) == Offer)
                    {
                        await CompleteWithAsync(lease, Notice.Fill, completion.Render!(), Milliseconds(_options.FillTimeToLive)).ConfigureAwait(false);
                    }

                    break;
                case DistributedCompletionKind.Pass:
                    await CompleteWithAsync(lease, Notice.Pass, null, Milliseconds(completion.Duration)).ConfigureAwait(false);
                    break;
                default:
                    await CompleteWithAsync(lease, Notice.Release, null, 0).ConfigureAwait(false);
                    break;
            }
        }
#pragma warning disable CA1031 // Rendering is the caller's code; a failure ends the lease as released, never throws.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RedisLog.CallFailed(_logger, ex, "complete lease");
            await CompleteWithAsync(lease, Notice.Release, null, 0).ConfigureAwait(false);
        }
    }

    /// <summary>Runs <c>Complete</c> once; returns the mode applied, or <see langword="null"/> when Redis gave no answer.</summary>
    private async Task<string?> CompleteWithAsync(RedisLease lease, string mode, byte[]? payload, long milliseconds)
    {
        if (payload is not null && payload.Length > _options.MaxEntryBytes)
        {
            // Too large for Redis: the waiters run their own now rather than wait for each other in turn; the key does
            // not pass through (the response was shareable here).
            if (mode == Notice.Stored)
            {
                _counters.L2Refuse();
            }

            RedisLog.EntryTooLarge(_logger, payload.Length, _options.MaxEntryBytes);
            (mode, milliseconds, payload) = (Notice.Pass, 0L, null);
        }

        RedisValue[] args =
        [
            RedisSecondLevelScripts.FormatVersion, lease.Target.Key, lease.Target.EncodedTags, mode, lease.Token, lease.StartSeq,
            payload ?? RedisValue.EmptyString, milliseconds, _keys.FillChannel.ToString(), lease.Target.Keys.Hash,
        ];
        var completed = await _connection.ExecuteAsync(
            "complete lease", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisSingleFlightScripts.Complete, lease.Target.ScriptKeys(_keys, lease.Token), args),
            CancellationToken.None).ConfigureAwait(false);
        if (!completed.Succeeded || completed.Value is null)
        {
            // The waiters find the lease lapsed (or Redis gone) and go on without this result.
            return null;
        }

        var result = (RedisResult[])completed.Value!;
        var applied = (string)result[0]!;
        var published = (long)result[1] == 1;
        switch (applied)
        {
            case Notice.Stored:
                _counters.L2Write();
                break;
            case Notice.Pass:
                _counters.Pass();
                break;
            case Notice.Release when mode is Notice.Stored or Notice.Fill:
                RedisLog.EntryStale(_logger, lease.StartSeq);
                break;
        }

        if (published && applied is Notice.Stored or Notice.Fill)
        {
            _counters.FillPublished();
        }

        RedisLog.LeaseCompleted(_logger, applied, mode);
        return applied;
    }

    /// <summary>Renews a lease while its execution runs; stops when it finds the lease gone or taken.</summary>
    internal async Task RenewAsync(RedisLease lease)
    {
        if (!lease.TryStartRenewal())
        {
            return;
        }

        try
        {
            var renewed = await _connection.ExecuteAsync(
                "renew lease", _options.ReadBudget,
                db => db.ScriptEvaluateAsync(RedisSingleFlightScripts.Renew, [lease.Target.Keys.Lease, lease.Target.Keys.Waiting], [lease.Token, _leaseMilliseconds]),
                CancellationToken.None).ConfigureAwait(false);
            if (renewed is { Succeeded: true, Value: { } value } && (long)value == 0 && !lease.IsCompleted)
            {
                lease.StopRenewing();
                RedisLog.LeaseLost(_logger);
            }
        }
        finally
        {
            lease.EndRenewal();
        }
    }

    private async ValueTask<LeadAnswer> TryLeadAsync(LeaseTarget target, bool memoized, string token, string? holder, CancellationToken cancellationToken)
    {
        RedisValue[] args =
        [
            RedisSecondLevelScripts.FormatVersion, target.Key, target.EncodedTags, memoized ? "1" : "0", token, _leaseMilliseconds,
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

    private RedisLease StartLease(LeaseTarget target, string token, long startSeq)
    {
        var lease = new RedisLease(this, target, token, startSeq);
        _leases[token] = lease;
        lease.StartRenewing(_time, _options.LeaseDuration / 3);
        if (_disposed)
        {
            lease.StopRenewing();
        }

        return lease;
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

        if (parts[2] == Notice.Waiting)
        {
            // For the holder: an instance waits for its execution.
            if (_leases.TryGetValue(parts[1], out var lease))
            {
                Interlocked.Increment(ref _waitedForNotices);
                lease.MarkWaitedFor();
            }

            return;
        }

        lock (_waiting)
        {
            if (_waiting.TryGetValue(WaitKey(parts[0], parts[1]), out var awaited))
            {
                awaited.Signal.TrySetResult(new Notice(parts[2], milliseconds));
            }
        }
    }

    private Awaited Register(string hash, string holder)
    {
        lock (_waiting)
        {
            var key = WaitKey(hash, holder);
            if (!_waiting.TryGetValue(key, out var awaited) || awaited.Signal.Task.IsCompleted)
            {
                awaited = new Awaited();
                _waiting[key] = awaited;
            }

            awaited.Count++;
            return awaited;
        }
    }

    private void Unregister(string hash, string? holder, Awaited? awaited)
    {
        if (holder is null || awaited is null)
        {
            return;
        }

        lock (_waiting)
        {
            var key = WaitKey(hash, holder);
            if (--awaited.Count == 0 && _waiting.TryGetValue(key, out var current) && ReferenceEquals(current, awaited))
            {
                _waiting.Remove(key);
            }
        }
    }

    private void WakeAll(Notice notice)
    {
        lock (_waiting)
        {
            foreach (var awaited in _waiting.Values)
            {
                awaited.Signal.TrySetResult(notice);
            }
        }
    }

    /// <summary><c>Complete</c>'s first step for a fill: it keeps the lease when an instance waits, so the fill follows.</summary>
    private const string Offer = "offer";

    private static string WaitKey(string hash, string holder) => hash + " " + holder;

    private static long Milliseconds(TimeSpan time) => (long)Math.Ceiling(time.TotalMilliseconds);

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

    /// <summary>A holder's notice: how its execution ended (<c>Complete</c>'s modes), or that Redis is being left alone.</summary>
    private readonly record struct Notice(string Mode, long Milliseconds)
    {
        public const string Stored = "stored";
        public const string Fill = "fill";
        public const string Pass = "pass";
        public const string Release = "release";
        public const string Waiting = "waiting";
        public const string UnavailableMode = "unavailable";

        public static Notice Unavailable => new(UnavailableMode, 0);
    }

    /// <summary>The waits of this instance for one holder: usually one, as local followers wait behind their leader.</summary>
    private sealed class Awaited
    {
        public TaskCompletionSource<Notice> Signal { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count { get; set; }
    }
}
