using System.Security.Cryptography;
using System.Text;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Every key and channel of one app, under the prefix <c>{KeyPrefix}</c>. The braces make the whole prefix a
/// Redis Cluster hash tag, so all keys share one slot and a Lua script may touch any of them.
/// </summary>
internal sealed class RedisKeys
{
    private readonly string _prefix;

    public RedisKeys(string keyPrefix)
    {
        _prefix = "{" + keyPrefix + "}:";
        Seq = _prefix + "seq";
        Epoch = _prefix + "epoch";
        Log = _prefix + "log";
        Nodes = _prefix + "nodes";
        InvalidationChannel = RedisChannel.Literal(_prefix + "inv:v1");
    }

    /// <summary>The invalidation counter (INCR).</summary>
    public RedisKey Seq { get; }

    /// <summary>A random id set once per Redis data set: a new one means Redis lost its data.</summary>
    public RedisKey Epoch { get; }

    /// <summary>ZSET of recent invalidations, score seq, member <c>seq:tag</c>.</summary>
    public RedisKey Log { get; }

    /// <summary>ZSET of live instances, score the Redis time (ms) their liveness lapses.</summary>
    public RedisKey Nodes { get; }

    /// <summary>Where invalidations are published.</summary>
    public RedisChannel InvalidationChannel { get; }

    /// <summary>Where instances confirm to one writer that they evicted.</summary>
    public RedisChannel AckChannel(string instanceId) => RedisChannel.Literal(_prefix + "ack:" + instanceId);

    /// <summary>The seq of a tag's last invalidation (0 when it was only ever stored).</summary>
    public RedisKey Tag(string tag) => _prefix + "t:" + tag;

    /// <summary>A second-level entry: keys can be any length and carry any characters, so the Redis key is a hash.</summary>
    public RedisKey Entry(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(key);
        SHA256.HashData(bytes, hash);
        return _prefix + "e:" + Convert.ToHexStringLower(hash);
    }
}
