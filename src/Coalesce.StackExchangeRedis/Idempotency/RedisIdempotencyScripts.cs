namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The Lua scripts of idempotency keys across instances, each atomic over one scoped key
/// (<see cref="RedisKeys.Idempotency"/>). The key holds either a claim, <c>c</c> + the holder's token (32 characters) +
/// the fingerprint (32 bytes), with the lease as its time to live, or an outcome, <c>o</c> + the fingerprint + the
/// response as <c>CapturedResponseFormatter</c> writes it, with the retention as its time to live.
/// </summary>
internal static class RedisIdempotencyScripts
{
    /// <summary>
    /// Claims the key (<c>SET NX PX</c>) → <c>1</c>; else the claim or outcome that holds it.
    /// KEYS: the key. ARGV: the claim, the lease (ms).
    /// </summary>
    public const string Claim = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
        return redis.call('GET', KEYS[1])
        """;

    /// <summary>Extends the lease while the key still holds this claim → 1, else 0. KEYS: the key. ARGV: the claim, the lease (ms).</summary>
    public const string Renew = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
        return 0
        """;

    /// <summary>
    /// While the key still holds this claim: replaces it with the outcome for the retention, or frees the key when the
    /// outcome is empty → 1; else 0 (the lease was lost). KEYS: the key. ARGV: the claim, the outcome or '', the retention (ms).
    /// </summary>
    public const string Complete = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
        return 1
        """;
}
