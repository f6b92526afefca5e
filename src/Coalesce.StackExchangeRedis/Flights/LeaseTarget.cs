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
}
