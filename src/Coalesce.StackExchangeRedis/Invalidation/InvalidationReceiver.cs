using System.Globalization;
using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The receiving side: the subscriptions to the invalidation channel and this instance's ack channel, and the
/// handling of other instances' invalidations (applied through the <see cref="LocalEvictors"/>, then confirmed to
/// the writer). Messages from this instance are ignored: its caller evicts locally.
/// </summary>
internal sealed class InvalidationReceiver
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisCoalescingOptions _options;
    private readonly InvalidationProgress _progress;
    private readonly LocalEvictors _evictors;
    private readonly AckTracker _acks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisCounters _counters;
    private readonly CancellationToken _stopping;
    private readonly Action<RedisChannel, RedisValue> _onInvalidation;
    private volatile bool _stopped;
    private bool _subscribed;

    public InvalidationReceiver(
        RedisConnection connection, InvalidationProgress progress, LocalEvictors evictors, AckTracker acks,
        TimeProvider time, ILogger logger, RedisCounters counters, CancellationToken stopping)
    {
        _connection = connection;
        _keys = connection.Keys;
        _options = connection.Options;
        _progress = progress;
        _evictors = evictors;
        _acks = acks;
        _time = time;
        _logger = logger;
        _counters = counters;
        _stopping = stopping;
        _onInvalidation = OnInvalidation;
    }

    /// <summary>
    /// Subscribes afresh to both channels: whatever happened to the old subscription, this one is known to be live.
    /// Returns whether the invalidation channel is connected now.
    /// </summary>
    public async Task<bool> SubscribeAsync(IConnectionMultiplexer multiplexer, CancellationToken cancellationToken)
    {
        var subscriber = multiplexer.GetSubscriber();
        var invalidations = _keys.InvalidationChannel;
        var acks = _keys.AckChannel(_connection.InstanceId);
        await subscriber.UnsubscribeAsync(invalidations, _onInvalidation).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        await subscriber.UnsubscribeAsync(acks, _acks.Handler).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        await subscriber.SubscribeAsync(invalidations, _onInvalidation).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        await subscriber.SubscribeAsync(acks, _acks.Handler).WaitAsync(_options.InvalidationBudget, _time, cancellationToken).ConfigureAwait(false);
        _subscribed = true;
        return subscriber.IsConnected(invalidations);
    }

    /// <summary>Stops handling messages at once; the handlers come off the multiplexer in <see cref="UnsubscribeAsync"/>.</summary>
    public void Stop() => _stopped = true;

    /// <summary>Takes the handlers off a (possibly shared) multiplexer that outlives this instance. Best effort.</summary>
    public async Task UnsubscribeAsync(IConnectionMultiplexer multiplexer)
    {
        if (!_subscribed)
        {
            return;
        }

        var subscriber = multiplexer.GetSubscriber();
        try
        {
            await subscriber.UnsubscribeAsync(_keys.InvalidationChannel, _onInvalidation).WaitAsync(_options.ReadBudget, _time).ConfigureAwait(false);
            await subscriber.UnsubscribeAsync(_keys.AckChannel(_connection.InstanceId), _acks.Handler).WaitAsync(_options.ReadBudget, _time).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Leaving is best effort; a shared multiplexer drops dead handlers with its connection.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RedisLog.CallFailed(_logger, ex, "unsubscribe");
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

        if (string.Equals(parts[0], _connection.InstanceId, StringComparison.Ordinal) || _stopped)
        {
            return;
        }

        _ = HandleAsync(parts[0], parts[1], parts[2], seq, InvalidationWire.TryDecodeAll(encoded));
    }

    /// <summary>Applies another instance's invalidation here and confirms it to the writer.</summary>
    /// <param name="source">The writer's instance id, whose ack channel gets the confirmation.</param>
    /// <param name="publishId">The writer's id for this publication.</param>
    /// <param name="epoch">The Redis data set the invalidation was made in.</param>
    /// <param name="seq">The invalidation's seq.</param>
    /// <param name="items">What to evict; <see langword="null"/> when an item is of a kind this version does not know (everything goes).</param>
    private async Task HandleAsync(string source, string publishId, string epoch, long seq, InvalidationItem[]? items)
    {
        try
        {
            _counters.Received();
            var token = _stopping;
            if (_progress.Epoch is not null && !string.Equals(epoch, _progress.Epoch, StringComparison.Ordinal))
            {
                // Redis lost its data and another instance noticed first: what this one holds can't be trusted.
                RedisLog.LocalFlush(_logger, "an invalidation carries a new epoch");
                _progress.Epoch = epoch;
                _progress.SetSeq(seq, allowBackwards: true);
                _progress.Witness(seq, publishId, allowBackwards: true);
                await _evictors.EvictAllAsync(token).ConfigureAwait(false);
            }
            else if (items is null)
            {
                RedisLog.LocalFlush(_logger, "an invalidation holds an item of a kind this version does not know");
                _progress.SetSeq(seq, allowBackwards: false);
                _progress.Witness(seq, publishId);
                await _evictors.EvictAllAsync(token).ConfigureAwait(false);
            }
            else
            {
                _progress.SetSeq(seq, allowBackwards: false);
                _progress.Witness(seq, publishId);
                await _evictors.EvictAsync(items, seq, token).ConfigureAwait(false);
            }

            if (_progress.Synchronized)
            {
                _progress.Applied(seq);
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
}
