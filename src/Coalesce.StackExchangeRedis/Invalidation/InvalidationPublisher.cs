using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Sends one invalidation (<see cref="RedisInvalidationScripts.Publish"/>): the seq grows, each item's stamp takes the
/// new seq, the log records each item and the message goes out, in one step; then, for read-your-writes, waits for
/// the live instances through the <see cref="AckTracker"/>.
/// </summary>
internal sealed class InvalidationPublisher
{
    /// <summary>
    /// The shortest life of a tag key after an invalidation: longer than any leader runs, so a leader that started
    /// before the invalidation finds it when it tries to store and is refused.
    /// </summary>
    internal static readonly TimeSpan TagKeyFloor = TimeSpan.FromHours(1);

    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisCoalescingOptions _options;
    private readonly InvalidationProgress _progress;
    private readonly AckTracker _acks;
    private readonly RedisCounters _counters;
    private readonly TimeProvider _time;

    public InvalidationPublisher(RedisConnection connection, InvalidationProgress progress, AckTracker acks, TimeProvider time, RedisCounters counters)
    {
        _time = time;
        _connection = connection;
        _keys = connection.Keys;
        _options = connection.Options;
        _progress = progress;
        _acks = acks;
        _counters = counters;
    }

    /// <summary>
    /// Publishes items already encoded (<see cref="InvalidationWire"/>) and in canonical order, within
    /// <see cref="RedisCoalescingOptions.InvalidationBudget"/>, then (when <paramref name="waitForAcks"/>) waits up to
    /// <see cref="RedisCoalescingOptions.AckTimeout"/> for the live instances. Returns the seq, or
    /// <see langword="null"/> when Redis gave no answer in time.
    /// </summary>
    public async Task<long?> PublishAsync(string[] items, bool waitForAcks, bool whileOpen, CancellationToken cancellationToken)
    {
        var sent = await PublishAsync(items, _options.InvalidationBudget, waitForAcks ? _options.AckTimeout : null, whileOpen, cancellationToken).ConfigureAwait(false);
        return sent.Seq;
    }

    /// <summary>
    /// Publishes items already encoded (<see cref="InvalidationWire"/>) and in canonical order, with one bound for the
    /// publish (<paramref name="budget"/>) and, when <paramref name="ackTimeout"/> is given, waits for the live
    /// instances for what is left of it after the publish.
    /// </summary>
    /// <returns>
    /// The seq (<see langword="null"/> when Redis gave no answer within the budget: nothing is known to be published)
    /// and whether every live instance confirmed or stopped being live.
    /// </returns>
    public async Task<PublishOutcome> PublishAsync(string[] items, TimeSpan budget, TimeSpan? ackTimeout, bool whileOpen, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var waitForAcks = ackTimeout is not null;
        var publishId = Guid.NewGuid().ToString("N");
        var waiter = waitForAcks ? _acks.Register(publishId) : null;
        try
        {
            var keys = new RedisKey[5 + items.Length];
            var args = new RedisValue[8 + items.Length];
            (keys[0], keys[1], keys[2], keys[3], keys[4]) = (_keys.Seq, _keys.Log, _keys.Epoch, _keys.Nodes, _keys.PublishIds);
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
                keys[5 + i] = _keys.Stamp(item);
                args[7 + i] = items[i];
            }

            args[^1] = _keys.PublishCommand;

            var published = await _connection.ExecuteAsync(
                "publish invalidation", budget,
                db => db.ScriptEvaluateAsync(RedisInvalidationScripts.Publish, keys, args), cancellationToken, whileOpen).ConfigureAwait(false);
            if (!published.Succeeded || published.Value is null)
            {
                return default;
            }

            var result = (RedisResult[])published.Value!;
            var seq = (long)result[0];
            _progress.SetSeq(seq, allowBackwards: false);
            _progress.Witness(seq, publishId);
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

                var left = ackTimeout!.Value - _time.GetElapsedTime(started);
                var confirmed = await _acks.WaitAsync(seq, waiter, live, left, cancellationToken).ConfigureAwait(false);
                return new PublishOutcome(seq, confirmed);
            }

            return new PublishOutcome(seq, Confirmed: true);
        }
        finally
        {
            if (waiter is not null)
            {
                _acks.Unregister(publishId);
            }
        }
    }
}
