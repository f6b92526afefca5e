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
    /// Stores an entry unless it is stale: a tag was invalidated after the start seq, or the shared seq is below it
    /// (Redis restarted or rolled back). Each tag key is created as <c>0</c> if missing and made to live at least as
    /// long as the entry. Returns 1 stored, 0 stale, -1 seq went back.
    /// KEYS: entry, seq, tag keys…  ARGV: version, full key, encoded tags, start seq, payload, ttl (ms).
    /// </summary>
    public const string Set = """
        local start = tonumber(ARGV[4])
        if tonumber(redis.call('GET', KEYS[2]) or '0') < start then return -1 end
        local ttl = tonumber(ARGV[6])
        for i = 3, #KEYS do
          local t = redis.call('GET', KEYS[i])
          if t and tonumber(t) > start then return 0 end
        end
        for i = 3, #KEYS do
          if not redis.call('SET', KEYS[i], '0', 'NX', 'PX', ttl) then
            if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
          end
        end
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'v', ARGV[1], 'k', ARGV[2], 'g', ARGV[3], 's', ARGV[4], 'b', ARGV[5])
        redis.call('PEXPIRE', KEYS[1], ttl)
        return 1
        """;

    /// <summary>
    /// Reads an entry: <c>{pttl, payload}</c> when it was stored under exactly this key and tags, every tag key
    /// exists (a missing one means it was evicted, so the entry is invalid) and holds a seq no later than the entry's
    /// start seq; <c>{-1}</c> other key or tags; <c>{-2}</c> stale; nil when there is none.
    /// KEYS: entry, seq, tag keys…  ARGV: version, full key, encoded tags.
    /// </summary>
    public const string Get = """
        local f = redis.call('HMGET', KEYS[1], 'v', 'k', 'g', 's', 'b')
        if not f[1] then return false end
        if f[1] ~= ARGV[1] or f[2] ~= ARGV[2] or f[3] ~= ARGV[3] then return { -1 } end
        local start = tonumber(f[4])
        if tonumber(redis.call('GET', KEYS[2]) or '0') < start then return { -2 } end
        for i = 3, #KEYS do
          local t = redis.call('GET', KEYS[i])
          if not t or tonumber(t) > start then return { -2 } end
        end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl <= 0 then return false end
        return { ttl, f[5] }
        """;
}
