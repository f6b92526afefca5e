using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Catch-up after pub/sub may have lost messages (<see cref="RedisInvalidationScripts.CatchUp"/>): reads the log after
/// the last seq applied here and evicts those items; flushes everything local instead on the first synchronization,
/// when Redis has a new epoch (it lost its data), when the seq went back, when the highest seq this instance saw is
/// another publication in Redis (a failover reused it), when the log has a gap, or when it holds an item of a kind
/// this version does not know.
/// </summary>
internal sealed class InvalidationCatchUp(RedisConnection connection, InvalidationProgress progress, LocalEvictors evictors, ILogger logger)
{
    private const int CatchUpLimit = 100_000;

    /// <summary>Returns <see langword="false"/> when Redis gave no answer; then nothing changed here.</summary>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        var keys = connection.Keys;
        var applied = progress.AppliedSeq;
        var seen = progress.Seen;
        var read = await connection.ExecuteAsync(
            "catch up", connection.Options.InvalidationBudget,
            db => db.ScriptEvaluateAsync(
                RedisInvalidationScripts.CatchUp, [keys.Seq, keys.Log, keys.Epoch, keys.PublishIds],
                [Math.Max(applied, 0), Guid.NewGuid().ToString("N"), CatchUpLimit, seen?.Seq ?? 0]),
            cancellationToken, whileOpen: true).ConfigureAwait(false);
        if (!read.Succeeded || read.Value is null)
        {
            return false;
        }

        var result = (RedisResult[])read.Value!;
        var seq = (long)result[0];
        var epoch = (string)result[1]!;
        var checkedMember = (string)result[2]!;
        var head = (string)result[3]!;
        string? flush = null;
        var missed = new HashSet<string>(StringComparer.Ordinal);
        if (applied < 0)
        {
            flush = "first synchronization: invalidations before it could not be followed";
        }
        else if (!string.Equals(epoch, progress.Epoch, StringComparison.Ordinal))
        {
            flush = "Redis has a new epoch (it lost its data)";
        }
        else if (seq < Math.Max(applied, progress.CurrentSeq))
        {
            // Compared with every seq seen in this epoch (this instance's own included), not only the applied ones.
            flush = $"the seq went back from {Math.Max(applied, progress.CurrentSeq)} to {seq} (Redis restarted or rolled back)";
        }
        else if (seen is not null && checkedMember.Length > 0 && !string.Equals(checkedMember, seen.Member, StringComparison.Ordinal))
        {
            // Same data set, but seq n is another publication than the one seen here: Redis handed it out again, as a
            // replica promoted after writes that never reached it does. What came after the fork can't be followed.
            flush = $"seq {seen.Seq} in Redis is not the invalidation this instance saw (a failover lost writes and reused their seqs)";
        }
        else if (seq > applied)
        {
            var entries = result.Length - 4;
            var first = entries >= 2 ? (long)result[5] : long.MaxValue;
            if (entries == 0 || first != applied + 1 || entries >= CatchUpLimit * 2)
            {
                flush = $"the log no longer covers seq {applied + 1} to {seq}";
            }
            else
            {
                for (var i = 4; i < result.Length; i += 2)
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
            RedisLog.LocalFlush(logger, flush);
            await evictors.EvictAllAsync(cancellationToken).ConfigureAwait(false);
        }
        else if (items!.Length > 0)
        {
            await evictors.EvictAsync(items, seq, cancellationToken).ConfigureAwait(false);
            RedisLog.CaughtUp(logger, applied, seq, items.Length);
        }

        progress.Epoch = epoch;
        progress.CaughtUpTo(seq);
        progress.SetSeq(seq, allowBackwards: flush is not null);
        if (head.Length > 0)
        {
            var colon = head.IndexOf(':', StringComparison.Ordinal);
            progress.Witness(seq, head[(colon + 1)..], allowBackwards: flush is not null);
        }
        else if (flush is not null)
        {
            progress.ForgetSeen();
        }

        return true;
    }
}
