using System.Security.Cryptography;
using System.Text;
using Coalesce.AspNetCore;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Every key and channel of one app. The shared state (seq, epoch, log, live instances, the stamps of tags and keys,
/// the invalidation and acknowledgement channels) is under <c>{KeyPrefix}:</c>, one Redis Cluster hash tag, so one
/// slot holds it and the invalidation scripts may touch any of it. A request key's own keys (its second-level entry,
/// lease, pass marker, waiting mark and fills) are under <c>KeyPrefix:{hash}:</c>, the key's hash as their hash tag:
/// on a Redis Cluster they spread over every shard by key, each key's keys together in its own slot.
/// </summary>
internal sealed class RedisKeys
{
    private readonly string _prefix;
    private readonly string _keyPrefix;
    private volatile bool _sharded;

    public RedisKeys(string keyPrefix)
    {
        _prefix = "{" + keyPrefix + "}:";
        _keyPrefix = keyPrefix + ":{";
        Seq = _prefix + "seq";
        Epoch = _prefix + "epoch";
        Log = _prefix + "log:v2";
        AllStamp = _prefix + "all";
        Nodes = _prefix + "nodes";
        PublishIds = _prefix + "ids";
        FillChannel = RedisChannel.Literal(_prefix + "fill:v1");
    }

    /// <summary>
    /// Whether invalidations and acknowledgements travel over sharded pub/sub (<c>SPUBLISH</c>/<c>SSUBSCRIBE</c>, Redis
    /// 7 on a cluster: only the shard that owns the shared slot carries them) rather than plain pub/sub, which a
    /// cluster copies to every node. Set once the connection knows the topology.
    /// </summary>
    public bool Sharded
    {
        get => _sharded;
        set => _sharded = value;
    }

    /// <summary>The command the invalidation script publishes with: <c>SPUBLISH</c> when <see cref="Sharded"/>.</summary>
    public string PublishCommand => _sharded ? "SPUBLISH" : "PUBLISH";

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
    public RedisChannel InvalidationChannel => Channel(_prefix + "inv:v2");

    /// <summary>
    /// Where a lease holder tells waiting instances how its execution ended (cross-instance single-flight). Plain
    /// pub/sub everywhere: the scripts that publish run in the request key's own slot, which no sharded channel shares.
    /// </summary>
    public RedisChannel FillChannel { get; }

    /// <summary>Where instances confirm to one writer that they evicted.</summary>
    public RedisChannel AckChannel(string instanceId) => Channel(_prefix + "ack:" + instanceId);

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
        var own = _keyPrefix + hash + "}:";
        return new FlightKeys(hash, own + "e", own + "l", own + "p", own + "w", own + "f:");
    }

    private RedisChannel Channel(string name) => _sharded ? RedisChannel.Sharded(name) : RedisChannel.Literal(name);

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
