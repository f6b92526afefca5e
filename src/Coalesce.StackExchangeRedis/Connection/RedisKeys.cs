using System.Security.Cryptography;
using System.Text;
using Coalesce.AspNetCore;
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
        Log = _prefix + "log:v2";
        AllStamp = _prefix + "all";
        Nodes = _prefix + "nodes";
        PublishIds = _prefix + "ids";
        InvalidationChannel = RedisChannel.Literal(_prefix + "inv:v2");
        FillChannel = RedisChannel.Literal(_prefix + "fill:v1");
    }

    /// <summary>The invalidation counter (INCR).</summary>
    public RedisKey Seq { get; }

    /// <summary>A random id set once per Redis data set: a new one means Redis lost its data.</summary>
    public RedisKey Epoch { get; }

    /// <summary>
    /// ZSET of recent invalidations, score seq, member <c>seq:item</c> with the item as
    /// <see cref="InvalidationWire"/> writes it (<c>v2</c>: version 1 held bare tags).
    /// </summary>
    public RedisKey Log { get; }

    /// <summary>
    /// The seq of the last pattern invalidation or clear: a stamp every second-level entry carries besides its tags
    /// and its key's stamp, so either drops every shared entry stored before it.
    /// </summary>
    public RedisKey AllStamp { get; }

    /// <summary>
    /// ZSET of recent publications, score seq, member <c>seq:publishId</c>, trimmed as the log is: which publication
    /// each seq was, so an instance can tell a seq handed out twice (a failover that lost writes) from the one it saw.
    /// </summary>
    public RedisKey PublishIds { get; }

    /// <summary>ZSET of live instances, score the Redis time (ms) their liveness lapses.</summary>
    public RedisKey Nodes { get; }

    /// <summary>Where invalidations are published (<c>v2</c>: items of every kind; version 1 carried bare tags).</summary>
    public RedisChannel InvalidationChannel { get; }

    /// <summary>Where a lease holder tells waiting instances how its execution ended (cross-instance single-flight).</summary>
    public RedisChannel FillChannel { get; }

    /// <summary>Where instances confirm to one writer that they evicted.</summary>
    public RedisChannel AckChannel(string instanceId) => RedisChannel.Literal(_prefix + "ack:" + instanceId);

    /// <summary>The seq of a tag's last invalidation (0 when it was only ever stored).</summary>
    /// <summary>An idempotency key's claim or outcome (<see cref="RedisIdempotencyScripts"/>); the scoped key is already a hash.</summary>
    public RedisKey Idempotency(string scopedKey) => _prefix + scopedKey;

    public RedisKey Tag(string tag) => _prefix + "t:" + tag;

    /// <summary>The seq of a request key's last invalidation by key (0 when it was only ever stored).</summary>
    public RedisKey KeyStamp(string key) => KeyStampOf(Hash(key));

    /// <summary>
    /// The stamp keys of an invalidation item (<see cref="InvalidationWire"/>): a tag's key, a key's stamp, or the
    /// stamp of every entry for a pattern or a clear.
    /// </summary>
    public RedisKey Stamp(InvalidationItem item) => item.Kind switch
    {
        InvalidationKind.Tag => Tag(item.Value),
        InvalidationKind.Key => KeyStamp(item.Value),
        _ => AllStamp,
    };

    /// <summary>
    /// Every stamp a second-level entry carries, checked on read and on store as one list: its tags' keys, then its
    /// key's stamp and the all-entries stamp.
    /// </summary>
    /// <param name="keyHash">The request key's hash (<see cref="FlightKeys.Hash"/>).</param>
    /// <param name="canonicalTags">The entry's tags, as <see cref="TagList.Canonical"/> gives them.</param>
    public RedisKey[] EntryStamps(string keyHash, string[] canonicalTags)
    {
        var stamps = new RedisKey[canonicalTags.Length + 2];
        for (var i = 0; i < canonicalTags.Length; i++)
        {
            stamps[i] = Tag(canonicalTags[i]);
        }

        stamps[^2] = KeyStampOf(keyHash);
        stamps[^1] = AllStamp;
        return stamps;
    }

    /// <summary>The keys of one request key's execution across instances, hashed once.</summary>
    public FlightKeys Flight(string key)
    {
        var hash = Hash(key);
        return new FlightKeys(
            hash, _prefix + "e:" + hash, _prefix + "l:" + hash, _prefix + "p:" + hash, _prefix + "w:" + hash, _prefix + "f:" + hash + ":");
    }

    private RedisKey KeyStampOf(string keyHash) => _prefix + "k:" + keyHash;

    /// <summary>The SHA-256 of a request key, as lower-case hex.</summary>
    private static string Hash(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(key);
        SHA256.HashData(bytes, hash);
        return Convert.ToHexStringLower(hash);
    }
}

/// <summary>
/// The keys of one request key's execution across instances: its second-level entry, the lease (<c>node:token</c>
/// of the instance running it), the pass marker (its response must not be shared), the waiting mark (the token of
/// the lease another instance waits for) and the fills (a response handed to the waiters of one lease).
/// </summary>
/// <param name="Hash">The request key's hash, as named in fill notices.</param>
/// <param name="Entry">The second-level entry.</param>
/// <param name="Lease">The lease.</param>
/// <param name="Pass">The pass marker.</param>
/// <param name="Waiting">The waiting mark.</param>
/// <param name="FillPrefix">The fills' common start; a lease's fill adds its token.</param>
internal readonly record struct FlightKeys(string Hash, RedisKey Entry, RedisKey Lease, RedisKey Pass, RedisKey Waiting, string FillPrefix)
{
    /// <summary>The fill of the lease <paramref name="token"/>; with no token, a key that never exists.</summary>
    public RedisKey Fill(string? token) => FillPrefix + token;
}
