using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The second level on Redis: bytes in, bytes out, valid by tag seq (see <see cref="RedisSecondLevelScripts"/>).
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

    private RedisKey[] Keys(string key, string[] tags)
    {
        var keys = new RedisKey[2 + tags.Length];
        keys[0] = _keys.Entry(key);
        keys[1] = _keys.Seq;
        for (var i = 0; i < tags.Length; i++)
        {
            keys[2 + i] = _keys.Tag(tags[i]);
        }

        return keys;
    }
}
