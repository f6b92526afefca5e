using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The second level on Redis: bytes in, bytes out, valid by stamp seq (see <see cref="RedisSecondLevelScripts"/>):
/// an entry carries its tags' stamps, its key's stamp and the all-entries stamp, so an invalidation by tag, by key,
/// by pattern or a clear after its start makes it stale.
/// Entries over <see cref="RedisCoalescingOptions.MaxEntryBytes"/> stay local. Each call has the read budget; a
/// failure, a timeout or an open breaker is a miss (or <see cref="SecondLevelWriteResult.Unavailable"/>).
/// </summary>
internal sealed class RedisSecondLevelStore(RedisConnection connection, ILogger<RedisSecondLevelStore> logger, RedisCounters counters)
    : ISecondLevelStore
{
    private readonly RedisKeys _keys = connection.Keys;
    private readonly RedisCoalescingOptions _options = connection.Options;

    public async ValueTask<SecondLevelEntry?> TryGetAsync(string key, IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(tags);
        var canonical = TagList.Canonical(tags);
        if (connection.IsCluster)
        {
            return await TryGetOnClusterAsync(key, canonical, cancellationToken).ConfigureAwait(false);
        }

        var keys = Keys(key, canonical);
        RedisValue[] args = [RedisSecondLevelScripts.FormatVersion, key, TagList.Encode(canonical)];
        var read = await connection.ExecuteAsync(
            "second-level read", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisSecondLevelScripts.Get, keys, args), cancellationToken).ConfigureAwait(false);
        if (read is { Succeeded: true, Value: { IsNull: false, Length: 2 } hit })
        {
            counters.L2Hit();
            return new SecondLevelEntry((byte[])hit[1]!, TimeSpan.FromMilliseconds((long)hit[0]));
        }

        counters.L2Miss();
        return null;
    }

    public async ValueTask<SecondLevelWriteResult> TrySetAsync(
        string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, IReadOnlyCollection<string> tags, long startSeq,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(tags);
        ArgumentOutOfRangeException.ThrowIfLessThan(timeToLive, TimeSpan.FromMilliseconds(1));
        ArgumentOutOfRangeException.ThrowIfNegative(startSeq);
        if (payload.Length > _options.MaxEntryBytes)
        {
            counters.L2Refuse();
            RedisLog.EntryTooLarge(logger, payload.Length, _options.MaxEntryBytes);
            return SecondLevelWriteResult.TooLarge;
        }

        var canonical = TagList.Canonical(tags);
        var keys = Keys(key, canonical);
        RedisValue[] args =
        [
            RedisSecondLevelScripts.FormatVersion, key, TagList.Encode(canonical), startSeq, payload,
            (long)Math.Ceiling(timeToLive.TotalMilliseconds),
        ];
        var write = connection.IsCluster
            ? await TrySetOnClusterAsync(keys, args, cancellationToken).ConfigureAwait(false)
            : await connection.ExecuteAsync(
                "second-level write", _options.ReadBudget,
                db => db.ScriptEvaluateAsync(RedisSecondLevelScripts.Set, keys, args), cancellationToken).ConfigureAwait(false);
        if (!write.Succeeded || write.Value is null)
        {
            return SecondLevelWriteResult.Unavailable;
        }

        if ((long)write.Value == 1)
        {
            counters.L2Write();
            return SecondLevelWriteResult.Stored;
        }

        RedisLog.EntryStale(logger, startSeq);
        return SecondLevelWriteResult.Stale;
    }

    /// <summary>
    /// A read on a Redis Cluster: the entry in its own slot and an <c>MGET</c> of the seq and its stamps in the shared
    /// slot, in one round trip, checked here as <c>entry_state</c> checks them in one script.
    /// </summary>
    private async ValueTask<SecondLevelEntry?> TryGetOnClusterAsync(string key, string[] canonical, CancellationToken cancellationToken)
    {
        var flight = _keys.Flight(key);
        var stamps = _keys.EntryStamps(flight.Hash, canonical);
        var seqAndStamps = new RedisKey[1 + stamps.Length];
        seqAndStamps[0] = _keys.Seq;
        stamps.CopyTo(seqAndStamps, 1);
        RedisValue[] args = [RedisSecondLevelScripts.FormatVersion, key, TagList.Encode(canonical)];
        var read = await connection.ExecuteAsync(
            "second-level read", _options.ReadBudget,
            async db =>
            {
                var values = db.StringGetAsync(seqAndStamps);
                var entry = db.ScriptEvaluateAsync(RedisSecondLevelScripts.ClusterGet, [flight.Entry], args);
                return (Stamps: await values.ConfigureAwait(false), Entry: await entry.ConfigureAwait(false));
            },
            cancellationToken).ConfigureAwait(false);
        if (read is { Succeeded: true, Value.Entry: { IsNull: false, Length: 3 } hit }
            && RedisSecondLevelScripts.IsFresh(read.Value.Stamps, (long)hit[1], stampsMustExist: true))
        {
            counters.L2Hit();
            return new SecondLevelEntry((byte[])hit[2]!, TimeSpan.FromMilliseconds((long)hit[0]));
        }

        counters.L2Miss();
        return null;
    }

    /// <summary>
    /// A write on a Redis Cluster: freshness checked and the stamps made live in the shared slot, then the entry
    /// written in its own slot. Answers as <c>Set</c> does (1 stored, 0 stale, -1 seq went back).
    /// </summary>
    private async ValueTask<Attempt<RedisResult>> TrySetOnClusterAsync(RedisKey[] keys, RedisValue[] args, CancellationToken cancellationToken)
    {
        // keys: entry, seq, stamps…; args: version, key, tags, start, payload, ttl.
        var seqAndStamps = keys[1..];
        var fresh = await connection.ExecuteAsync(
            "second-level write", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisSecondLevelScripts.ClusterStamps, seqAndStamps, [args[3], args[5], "1"]), cancellationToken).ConfigureAwait(false);
        if (!fresh.Succeeded || fresh.Value is null || (long)fresh.Value != 1)
        {
            return fresh;
        }

        return await connection.ExecuteAsync(
            "second-level write", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisSecondLevelScripts.ClusterSet, [keys[0]], args), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The script's keys: the entry, the seq, then every stamp the entry carries (its tags, its key, all entries).</summary>
    private RedisKey[] Keys(string key, string[] tags)
    {
        var flight = _keys.Flight(key);
        var stamps = _keys.EntryStamps(flight.Hash, tags);
        var keys = new RedisKey[2 + stamps.Length];
        keys[0] = flight.Entry;
        keys[1] = _keys.Seq;
        stamps.CopyTo(keys, 2);
        return keys;
    }
}
