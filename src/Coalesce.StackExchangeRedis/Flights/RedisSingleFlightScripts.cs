namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The Lua scripts of cross-instance single-flight. Each runs atomically over one request key's keys
/// (<see cref="FlightKeys"/>, all under the app's hash tag), so asking to lead and completing never interleave: a
/// waiter always finds the lease, the stored entry, the fill or the pass marker, and a holder completing always sees
/// the waiting mark of a waiter that asked before it.
/// </summary>
/// <remarks>
/// Notices on the fill channel read <c>"hash token mode ms"</c>: <c>waiting</c> (an instance waits for the lease
/// <c>token</c>: its holder keeps a copy of its response), or how the lease ended: <c>stored</c>, <c>fill</c>,
/// <c>pass</c> (with the pass-through in ms, 0 when the key is not marked) or <c>release</c>. A lease nobody waits for
/// ends without a notice.
/// </remarks>
internal static class RedisSingleFlightScripts
{
    /// <summary>
    /// Asks to lead, in this order: a valid second-level entry (memoized endpoints only) → <c>{'entry', seq}</c>; the
    /// fill of the awaited lease → <c>{'fill', seq, payload}</c>; the pass marker → <c>{'pass', seq, msLeft}</c>; the
    /// lease, when free (<c>SET NX PX</c>) → <c>{'lead', seq}</c>; else <c>{'wait', seq, holder}</c>, having marked the
    /// holder's lease as waited for (and told it, the first time). <c>seq</c> is the shared invalidation seq, read
    /// before the endpoint would run.
    /// KEYS: entry, seq, lease, pass, fill of the awaited lease, waiting mark, stamps…
    /// ARGV: version, full key, encoded tags, memoized (1 or 0), this attempt's <c>node:token</c>, lease (ms), channel,
    /// hash.
    /// </summary>
    public const string TryLead = RedisSecondLevelScripts.EntryFunctions + """
        local seq = redis.call('GET', KEYS[2]) or '0'
        if ARGV[4] == '1' and entry_state(7) == 0 then return { 'entry', seq } end
        local fill = redis.call('GET', KEYS[5])
        if fill then return { 'fill', seq, fill } end
        local pass = redis.call('PTTL', KEYS[4])
        if pass > 0 then return { 'pass', seq, pass } end
        if redis.call('SET', KEYS[3], ARGV[5], 'NX', 'PX', ARGV[6]) then return { 'lead', seq } end
        local holder = redis.call('GET', KEYS[3])
        if redis.call('GET', KEYS[6]) == holder then
          redis.call('PEXPIRE', KEYS[6], ARGV[6])
        else
          redis.call('SET', KEYS[6], holder, 'PX', ARGV[6])
          redis.call('PUBLISH', ARGV[7], ARGV[8] .. ' ' .. holder .. ' waiting 0')
        end
        return { 'wait', seq, holder }
        """;

    /// <summary>
    /// Ends a lease, in one step. <c>offer</c> (a response for waiters, sent only if one waits) answers <c>offer</c>
    /// and keeps the lease when an instance waits for it, so the caller sends it as <c>fill</c>; otherwise it ends as
    /// <c>release</c>. <c>stored</c> stores the entry (as the second level's <c>Set</c> does) and <c>fill</c> keeps the
    /// response under the lease's fill key, each only while fresh (else it ends as <c>release</c>: nothing computed from
    /// data read before an invalidation is shared); <c>pass</c> sets the pass marker (unless its time is 0). Then the
    /// lease is deleted if it is still this one and, when an instance waits for it, the notice is published.
    /// Returns <c>{mode applied, 1 when published}</c>.
    /// KEYS: entry, seq, lease, pass, fill of this lease, waiting mark, stamps…
    /// ARGV: version, full key, encoded tags, mode (offer, stored, fill, pass, release), <c>node:token</c>, start seq,
    /// payload, time (ms: entry ttl, fill ttl or pass-through), channel, hash.
    /// </summary>
    public const string Complete = RedisSecondLevelScripts.EntryFunctions + """
        local mode = ARGV[4]
        local ms = tonumber(ARGV[8])
        local waited = redis.call('GET', KEYS[6]) == ARGV[5]
        if mode == 'offer' then
          if waited then return { 'offer', 0 } end
          mode = 'release'
        elseif mode == 'stored' then
          if store_entry(7, ARGV[6], ARGV[7], ms) ~= 1 then mode = 'release' end
        elseif mode == 'fill' then
          if freshness(7, tonumber(ARGV[6])) == 1 then
            redis.call('SET', KEYS[5], ARGV[7], 'PX', ms)
          else
            mode = 'release'
          end
        elseif mode == 'pass' and ms > 0 then
          redis.call('SET', KEYS[4], '1', 'PX', ms)
        end
        if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
        if not waited then return { mode, 0 } end
        redis.call('DEL', KEYS[6])
        if mode ~= 'pass' then ms = 0 end
        redis.call('PUBLISH', ARGV[9], ARGV[10] .. ' ' .. ARGV[5] .. ' ' .. mode .. ' ' .. ms)
        return { mode, 1 }
        """;

    /// <summary>
    /// Renews a lease if it is still this one, and the waiting mark with it: 1 renewed, 0 it lapsed or another
    /// instance holds it now.
    /// KEYS: lease, waiting mark.  ARGV: <c>node:token</c>, lease (ms).
    /// </summary>
    public const string Renew = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
        return redis.call('PEXPIRE', KEYS[1], ARGV[2])
        """;

    /// <summary>
    /// <see cref="TryLead"/> on a Redis Cluster, in the request key's own slot; the seq and the stamps come from an
    /// <c>MGET</c> in the shared slot sent in the same round trip, and the caller checks an entry or a fill against them
    /// (<see cref="RedisSecondLevelScripts.IsFresh"/>), asking again without it when it is stale. Answers
    /// <c>{'entry', start}</c>, <c>{'fill', start, payload}</c>, <c>{'pass', msLeft}</c>, <c>{'lead'}</c> or
    /// <c>{'wait', holder}</c>. A fill is a HASH here (<c>s</c> its start seq, <c>b</c> the payload).
    /// KEYS: entry, lease, pass, fill of the awaited lease, waiting mark.
    /// ARGV: version, full key, encoded tags, check the entry (1 or 0), <c>node:token</c>, lease (ms), channel, hash,
    /// check the fill (1 or 0).
    /// </summary>
    public const string ClusterTryLead = """
        if ARGV[4] == '1' then
          local f = redis.call('HMGET', KEYS[1], 'v', 'k', 'g', 's')
          if f[1] == ARGV[1] and f[2] == ARGV[2] and f[3] == ARGV[3] then return { 'entry', f[4] } end
        end
        if ARGV[9] == '1' then
          local fill = redis.call('HMGET', KEYS[4], 's', 'b')
          if fill[2] then return { 'fill', fill[1], fill[2] } end
        end
        local pass = redis.call('PTTL', KEYS[3])
        if pass > 0 then return { 'pass', pass } end
        if redis.call('SET', KEYS[2], ARGV[5], 'NX', 'PX', ARGV[6]) then return { 'lead' } end
        local holder = redis.call('GET', KEYS[2])
        if redis.call('GET', KEYS[5]) == holder then
          redis.call('PEXPIRE', KEYS[5], ARGV[6])
        else
          redis.call('SET', KEYS[5], holder, 'PX', ARGV[6])
          redis.call('PUBLISH', ARGV[7], ARGV[8] .. ' ' .. holder .. ' waiting 0')
        end
        return { 'wait', holder }
        """;

    /// <summary>
    /// <see cref="Complete"/> on a Redis Cluster, in the request key's own slot, after
    /// <see cref="RedisSecondLevelScripts.ClusterStamps"/> said in the shared slot whether the result is fresh (and
    /// made the entry's stamps live): <c>stored</c> and <c>fill</c> apply only when it was, else the lease ends as
    /// <c>release</c>. Readers check entries and fills against the stamps again, so an invalidation between the two
    /// steps costs an execution, never a stale answer.
    /// KEYS: entry, lease, pass, fill of this lease, waiting mark.
    /// ARGV: version, full key, encoded tags, mode, <c>node:token</c>, start seq, payload, time (ms), channel, hash,
    /// fresh (1 or 0).
    /// </summary>
    public const string ClusterComplete = """
        local mode = ARGV[4]
        local ms = tonumber(ARGV[8])
        local waited = redis.call('GET', KEYS[5]) == ARGV[5]
        if mode == 'offer' then
          if waited then return { 'offer', 0 } end
          mode = 'release'
        elseif mode == 'stored' then
          if ARGV[11] == '1' then
            redis.call('DEL', KEYS[1])
            redis.call('HSET', KEYS[1], 'v', ARGV[1], 'k', ARGV[2], 'g', ARGV[3], 's', ARGV[6], 'b', ARGV[7])
            redis.call('PEXPIRE', KEYS[1], ms)
          else
            mode = 'release'
          end
        elseif mode == 'fill' then
          if ARGV[11] == '1' then
            redis.call('DEL', KEYS[4])
            redis.call('HSET', KEYS[4], 's', ARGV[6], 'b', ARGV[7])
            redis.call('PEXPIRE', KEYS[4], ms)
          else
            mode = 'release'
          end
        elseif mode == 'pass' and ms > 0 then
          redis.call('SET', KEYS[3], '1', 'PX', ms)
        end
        if redis.call('GET', KEYS[2]) == ARGV[5] then redis.call('DEL', KEYS[2]) end
        if not waited then return { mode, 0 } end
        redis.call('DEL', KEYS[5])
        if mode ~= 'pass' then ms = 0 end
        redis.call('PUBLISH', ARGV[9], ARGV[10] .. ' ' .. ARGV[5] .. ' ' .. mode .. ' ' .. ms)
        return { mode, 1 }
        """;
}
