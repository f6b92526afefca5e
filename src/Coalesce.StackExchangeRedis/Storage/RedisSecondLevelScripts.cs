using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The second level's Lua scripts. An entry is a HASH: <c>v</c> format version, <c>k</c> the full key (echoed and
/// checked, so a hash collision can never serve another key's bytes), <c>g</c> the encoded tags, <c>s</c> the
/// start seq, <c>b</c> the payload. A HASH rather than one STRING lets the script check the small fields without
/// decoding the payload, and leaves the payload's bytes exactly as the caller gave them.
/// </summary>
internal static class RedisSecondLevelScripts
{
    /// <summary>The format written in <c>v</c>; an entry of another format is a miss.</summary>
    public const string FormatVersion = "1";

    /// <summary>
    /// Lua functions for every script that reads or writes entries (here and in cross-instance single-flight).
    /// They expect KEYS[1] the entry, KEYS[2] the seq, the stamps from KEYS[first] to the end (the tag keys, the
    /// key's stamp and the all-entries stamp: <see cref="RedisKeys.EntryStamps"/>; "tag key" below means any of them),
    /// and ARGV[1..3] the format version, the full key and the encoded tags.
    /// <list type="bullet">
    /// <item><c>entry_state(first)</c>: 0 valid (stored under exactly this key and tags, every tag key exists — a
    /// missing one means it was evicted — and holds a seq no later than the entry's start, and the shared seq has not
    /// gone below it), 1 none, 2 another key or tags, 3 stale.</item>
    /// <item><c>freshness(first, start)</c>: 1 when a result computed from <c>start</c> is still fresh, 0 when a tag
    /// was invalidated after it, -1 when the seq went back (Redis restarted or rolled back).</item>
    /// <item><c>store_entry(first, start, payload, ttl)</c>: stores an entry when fresh, creating each tag key as
    /// <c>0</c> if missing and making it live at least as long as the entry; returns what <c>freshness</c> said.</item>
    /// </list>
    /// </summary>
    public const string EntryFunctions = """
        local function entry_state(first)
          local f = redis.call('HMGET', KEYS[1], 'v', 'k', 'g', 's')
          if not f[1] then return 1 end
          if f[1] ~= ARGV[1] or f[2] ~= ARGV[2] or f[3] ~= ARGV[3] then return 2 end
          local start = tonumber(f[4])
          if tonumber(redis.call('GET', KEYS[2]) or '0') < start then return 3 end
          for i = first, #KEYS do
            local t = redis.call('GET', KEYS[i])
            if not t or tonumber(t) > start then return 3 end
          end
          return 0
        end

        local function freshness(first, start)
          if tonumber(redis.call('GET', KEYS[2]) or '0') < start then return -1 end
          for i = first, #KEYS do
            local t = redis.call('GET', KEYS[i])
            if t and tonumber(t) > start then return 0 end
          end
          return 1
        end

        local function store_entry(first, start, payload, ttl)
          local fresh = freshness(first, tonumber(start))
          if fresh ~= 1 then return fresh end
          for i = first, #KEYS do
            if not redis.call('SET', KEYS[i], '0', 'NX', 'PX', ttl) then
              if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
            end
          end
          redis.call('DEL', KEYS[1])
          redis.call('HSET', KEYS[1], 'v', ARGV[1], 'k', ARGV[2], 'g', ARGV[3], 's', start, 'b', payload)
          redis.call('PEXPIRE', KEYS[1], ttl)
          return 1
        end

        """;

    /// <summary>
    /// Stores an entry unless it is stale: a tag was invalidated after the start seq, or the shared seq is below it
    /// (Redis restarted or rolled back). Returns 1 stored, 0 stale, -1 seq went back.
    /// KEYS: entry, seq, stamps…  ARGV: version, full key, encoded tags, start seq, payload, ttl (ms).
    /// </summary>
    public const string Set = EntryFunctions + """
        return store_entry(3, ARGV[4], ARGV[5], tonumber(ARGV[6]))
        """;

    /// <summary>
    /// Reads an entry: <c>{pttl, payload}</c> when it is valid (<c>entry_state</c>); <c>{-1}</c> other key or
    /// tags; <c>{-2}</c> stale; nil when there is none.
    /// KEYS: entry, seq, stamps…  ARGV: version, full key, encoded tags.
    /// </summary>
    public const string Get = EntryFunctions + """
        local state = entry_state(3)
        if state == 1 then return false end
        if state == 2 then return { -1 } end
        if state == 3 then return { -2 } end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl <= 0 then return false end
        return { ttl, redis.call('HGET', KEYS[1], 'b') }
        """;

    /// <summary>
    /// On a Redis Cluster, the freshness half of a store, in the shared slot: <c>freshness</c> (1 fresh, 0 a stamp moved
    /// after the start, -1 the seq went back) and, when fresh and asked to, each stamp created as <c>0</c> if missing and
    /// made to live at least <c>ttl</c>. The entry is then written in its own slot (<see cref="ClusterSet"/>). The two
    /// steps are not one: an invalidation between them leaves a stale entry, which every read refuses by its stamps.
    /// KEYS: seq, stamps…  ARGV: start seq, ttl (ms), create (1 or 0).
    /// </summary>
    public const string ClusterStamps = """
        local start = tonumber(ARGV[1])
        if tonumber(redis.call('GET', KEYS[1]) or '0') < start then return -1 end
        for i = 2, #KEYS do
          local t = redis.call('GET', KEYS[i])
          if t and tonumber(t) > start then return 0 end
        end
        if ARGV[3] == '1' then
          local ttl = tonumber(ARGV[2])
          for i = 2, #KEYS do
            if not redis.call('SET', KEYS[i], '0', 'NX', 'PX', ttl) then
              if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
            end
          end
        end
        return 1
        """;

    /// <summary>
    /// On a Redis Cluster, writes an entry in its own slot (after <see cref="ClusterStamps"/> found it fresh).
    /// KEYS: entry.  ARGV: version, full key, encoded tags, start seq, payload, ttl (ms).
    /// </summary>
    public const string ClusterSet = """
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'k', ARGV[2], 'g', ARGV[3], 's', ARGV[4], 'b', ARGV[5])
        redis.call('PEXPIRE', KEYS[1], ARGV[6])
        return 1
        """;

    /// <summary>
    /// On a Redis Cluster, reads an entry in its own slot: <c>{pttl, start, payload}</c> when stored under exactly this
    /// key and tags, <c>{-1}</c> other key or tags, nil when there is none. Sent in the same round trip as an
    /// <c>MGET</c> of the seq and the stamps in the shared slot; the caller checks them (<see cref="IsFresh"/>).
    /// KEYS: entry.  ARGV: version, full key, encoded tags.
    /// </summary>
    public const string ClusterGet = """
        local f = redis.call('HMGET', KEYS[1], 'v', 'k', 'g', 's')
        if not f[1] then return false end
        if f[1] ~= ARGV[1] or f[2] ~= ARGV[2] or f[3] ~= ARGV[3] then return { -1 } end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl <= 0 then return false end
        return { ttl, f[4], redis.call('HGET', KEYS[1], 'b') }
        """;

    /// <summary>
    /// What <c>entry_state</c> decides in one script, decided by the caller on a Redis Cluster from an <c>MGET</c> of
    /// the seq then the stamps: a result computed from <paramref name="start"/> is fresh when the seq has not gone
    /// below it and no stamp moved after it; an entry (<paramref name="stampsMustExist"/>) also needs every stamp to
    /// exist (a missing one was evicted, and with it any invalidation it held).
    /// </summary>
    public static bool IsFresh(RedisValue[] seqThenStamps, long start, bool stampsMustExist)
    {
        var seq = seqThenStamps[0].IsNull ? 0 : (long)seqThenStamps[0];
        if (seq < start)
        {
            return false;
        }

        for (var i = 1; i < seqThenStamps.Length; i++)
        {
            var stamp = seqThenStamps[i];
            if (stamp.IsNull ? stampsMustExist : (long)stamp > start)
            {
                return false;
            }
        }

        return true;
    }
}
