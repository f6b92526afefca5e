namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The invalidation protocol's Lua scripts. Each runs atomically, touches only keys it is given (all under one
/// hash tag) and reads the time from Redis itself, so no two clocks are ever compared.
/// </summary>
internal static class RedisInvalidationScripts
{
    /// <summary>
    /// One invalidation: <c>n = INCR seq</c>; each item's stamp (a tag key, a key stamp, the all-entries stamp) set to
    /// <c>n</c> (its lifetime never shortened, and at least the floor so a leader that started before cannot store
    /// after it); the log gets <c>n:item</c> (<see cref="InvalidationWire"/>) and is trimmed to
    /// the last seqs; the message is published. Returns <c>{n, epoch, node, msLeft, node, msLeft, …}</c>: the instances
    /// live now, with how long their liveness still runs. The publish id is recorded as <c>n:id</c> in the ids set
    /// (trimmed as the log is), so an instance can tell later whether Redis's seq <c>n</c> is the one it saw.
    /// KEYS: seq, log, epoch, nodes, ids, stamps…  ARGV: channel, source id, publish id, epoch candidate,
    /// stamp floor (ms), seqs kept in the log, encoded items, items… (one per stamp, in the same order), then the
    /// publish command (<c>PUBLISH</c>, or <c>SPUBLISH</c> for sharded pub/sub: <see cref="RedisKeys.Sharded"/>)
    /// </summary>
    public const string Publish = """
        local n = redis.call('INCR', KEYS[1])
        local epoch = redis.call('GET', KEYS[3])
        if not epoch then
          epoch = ARGV[4]
          redis.call('SET', KEYS[3], epoch)
        end
        local floor = tonumber(ARGV[5])
        for i = 6, #KEYS do
          local ttl = redis.call('PTTL', KEYS[i])
          if ttl < floor then ttl = floor end
          redis.call('SET', KEYS[i], n, 'PX', ttl)
          redis.call('ZADD', KEYS[2], n, n .. ':' .. ARGV[i + 2])
        end
        redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', n - tonumber(ARGV[6]))
        redis.call('ZADD', KEYS[5], n, n .. ':' .. ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', n - tonumber(ARGV[6]))
        redis.call(ARGV[#ARGV], ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. epoch .. ' ' .. n .. ' ' .. ARGV[7])
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local nodes = redis.call('ZRANGEBYSCORE', KEYS[4], '(' .. now, '+inf', 'WITHSCORES')
        local out = { n, epoch }
        for i = 1, #nodes, 2 do
          out[#out + 1] = nodes[i]
          out[#out + 1] = tonumber(nodes[i + 1]) - now
        end
        return out
        """;

    /// <summary>
    /// What an instance missed: <c>{seq, epoch, checked, head, member, score, …}</c> with the log entries after
    /// <c>lastSeq</c> (at most <c>limit</c>); <c>checked</c> is the ids-set member (<c>n:publishId</c>) of seq
    /// <c>checkSeq</c> and <c>head</c> that of the current seq (each empty when the set has none). Creates the epoch
    /// when Redis has none.
    /// KEYS: seq, log, epoch, ids.  ARGV: lastSeq, epoch candidate, limit, checkSeq.
    /// </summary>
    public const string CatchUp = """
        local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
        local epoch = redis.call('GET', KEYS[3])
        if not epoch then
          epoch = ARGV[2]
          redis.call('SET', KEYS[3], epoch)
        end
        local checked = redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[4], ARGV[4], 'LIMIT', 0, 1)[1] or ''
        local head = redis.call('ZRANGEBYSCORE', KEYS[4], seq, seq, 'LIMIT', 0, 1)[1] or ''
        local out = { seq, epoch, checked, head }
        if seq > tonumber(ARGV[1]) then
          local entries = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))
          for i = 1, #entries do out[#out + 1] = entries[i] end
        end
        return out
        """;

    /// <summary>
    /// Marks an instance live until now + liveness, and forgets instances whose liveness lapsed.
    /// KEYS: nodes.  ARGV: instance id, liveness (ms).
    /// </summary>
    public const string Heartbeat = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
        return 1
        """;

    /// <summary>
    /// How long each instance's liveness still runs, in ms (0 when it lapsed or the instance left).
    /// KEYS: nodes.  ARGV: instance ids…
    /// </summary>
    public const string Liveness = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        local out = {}
        for i = 1, #ARGV do
          local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
          local left = 0
          if score then left = math.max(0, tonumber(score) - now) end
          out[i] = left
        end
        return out
        """;
}
