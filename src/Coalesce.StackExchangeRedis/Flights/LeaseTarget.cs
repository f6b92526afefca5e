using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>One request key's execution across instances: its Redis keys and its tags, canonical and encoded once.</summary>
internal sealed class LeaseTarget
{
    private readonly RedisKey[] _stamps;

    public LeaseTarget(string key, FlightKeys keys, IReadOnlyCollection<string> tags, RedisKeys names)
    {
        Key = key;
        Keys = keys;
        var canonical = TagList.Canonical(tags);
        EncodedTags = TagList.Encode(canonical);
        _stamps = names.EntryStamps(keys.Hash, canonical);
    }

    /// <summary>The full request key (echoed in the entry and checked on read).</summary>
    public string Key { get; }

    public FlightKeys Keys { get; }

    public string EncodedTags { get; }

    /// <summary>
    /// The keys <see cref="RedisSingleFlightScripts"/> take: entry, seq, lease, pass, the fill of
    /// <paramref name="fillToken"/>, the waiting mark, then the entry's stamps (<see cref="RedisKeys.EntryStamps"/>).
    /// </summary>
    public RedisKey[] ScriptKeys(RedisKeys names, string? fillToken)
    {
        var keys = new RedisKey[6 + _stamps.Length];
        (keys[0], keys[1], keys[2], keys[3], keys[4], keys[5]) = (Keys.Entry, names.Seq, Keys.Lease, Keys.Pass, Keys.Fill(fillToken), Keys.Waiting);
        _stamps.CopyTo(keys, 6);
        return keys;
    }

    /// <summary>
    /// On a Redis Cluster, the keys the cluster scripts take in the request key's own slot: entry, lease, pass, the
    /// fill of <paramref name="fillToken"/>, the waiting mark.
    /// </summary>
    public RedisKey[] OwnSlotKeys(string? fillToken) => [Keys.Entry, Keys.Lease, Keys.Pass, Keys.Fill(fillToken), Keys.Waiting];

    /// <summary>On a Redis Cluster, what is read (or checked) in the shared slot: the seq, then the entry's stamps.</summary>
    public RedisKey[] SeqAndStamps(RedisKeys names)
    {
        var keys = new RedisKey[1 + _stamps.Length];
        keys[0] = names.Seq;
        _stamps.CopyTo(keys, 1);
        return keys;
    }
}
