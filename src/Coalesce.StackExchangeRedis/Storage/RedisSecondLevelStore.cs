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
        var write = await connection.ExecuteAsync(
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
