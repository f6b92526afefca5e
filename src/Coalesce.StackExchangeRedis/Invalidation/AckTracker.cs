using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The writer's side of read-your-writes: one <see cref="AckWaiter"/> per publication, fed by this instance's ack
/// channel (<see cref="OnAck"/>), and the wait until every live instance confirmed or stopped being live.
/// </summary>
internal sealed class AckTracker
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisCoalescingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisCounters _counters;
    private static readonly TimeSpan RetryLivenessAfter = TimeSpan.FromMilliseconds(50);
    private readonly ConcurrentDictionary<string, AckWaiter> _waiters = new(StringComparer.Ordinal);

    public AckTracker(RedisConnection connection, TimeProvider time, ILogger logger, RedisCounters counters)
    {
        _connection = connection;
        _keys = connection.Keys;
        _options = connection.Options;
        _time = time;
        _logger = logger;
        _counters = counters;
        Handler = OnAck;
    }

    /// <summary>The handler of this instance's ack channel (one delegate, so it can be unsubscribed).</summary>
    public Action<RedisChannel, RedisValue> Handler { get; }

    /// <summary>Starts collecting confirmations of <paramref name="publishId"/>, before it is published.</summary>
    public AckWaiter Register(string publishId)
    {
        var waiter = new AckWaiter();
        _waiters[publishId] = waiter;
        return waiter;
    }

    public void Unregister(string publishId) => _waiters.TryRemove(publishId, out _);

    /// <summary>
    /// Waits until every instance in <paramref name="live"/> confirmed, or its liveness lapsed (checked against Redis,
    /// as it may have heartbeat since), or <paramref name="timeout"/> passed.
    /// </summary>
    /// <param name="seq">The invalidation's seq, for the log.</param>
    /// <param name="waiter">The publication's waiter.</param>
    /// <param name="live">The other live instances, with how long (ms) their liveness still ran at the publish.</param>
    /// <param name="timeout">The longest wait; a live instance that has not confirmed by then fails the wait.</param>
    /// <param name="cancellationToken">The caller's cancellation.</param>
    /// <returns>
    /// <see langword="true"/> when every instance confirmed or stopped being live (so none serves what the
    /// invalidation covers); <see langword="false"/> when the timeout passed first.
    /// </returns>
    public async Task<bool> WaitAsync(long seq, AckWaiter waiter, Dictionary<string, long> live, TimeSpan timeout, CancellationToken cancellationToken)
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
                return true;
            }

            if (elapsed >= timeout)
            {
                _counters.AckTimeout();
                RedisLog.AckTimedOut(_logger, seq, string.Join(", ", pending), timeout);
                return false;
            }

            var wait = timeout - elapsed;
            foreach (var node in pending)
            {
                var untilLapse = lapsesAt[node] - elapsed;
                wait = untilLapse < wait ? untilLapse : wait;
            }

            try
            {
                await waiter.Completed.WaitAsync(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, _time, cancellationToken).ConfigureAwait(false);
                return true;
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

            // The instance may have heartbeat since the publish: ask Redis how long it is still live. Asked even while
            // the breaker is open, with what is left of the wait (a slow link answers late, not never).
            var remaining = timeout - elapsed;
            var check = await _connection.ExecuteAsync(
                "check liveness", remaining > _options.ReadBudget ? remaining : _options.ReadBudget,
                db => db.ScriptEvaluateAsync(RedisInvalidationScripts.Liveness, [_keys.Nodes], [.. lapsed.Select(static n => (RedisValue)n)]),
                cancellationToken, whileOpen: true).ConfigureAwait(false);
            var left = check.Succeeded && check.Value is not null ? (RedisResult[])check.Value! : null;
            elapsed = _time.GetElapsedTime(started);
            for (var i = 0; i < lapsed.Length; i++)
            {
                // No answer is no proof that the instance stopped serving: it stays pending, asked again shortly.
                var ms = left is null ? (long)RetryLivenessAfter.TotalMilliseconds : (long)left[i];
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
}
