using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;

namespace Coalesce.AspNetCore;

/// <summary>
/// Settings for <c>UseRequestCoalescing</c>. Validated at start-up: an out-of-range value stops the app
/// with a message that names the option and its allowed range. Read once, when the app starts: a change to a
/// configuration source after that takes effect at the next start.
/// </summary>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class RequestCoalescingOptions
{
    private readonly Dictionary<string, CoalescingPolicy> _policies = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, IdempotencyPolicy> _idempotencyPolicies = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The longest a follower waits for a leader by default: 30 seconds.</summary>
    public static readonly TimeSpan DefaultWaitTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether every eligible request (GET or HEAD, no body, no upgrade) is coalesced unless its endpoint
    /// opts out with <c>DisableCoalescing()</c>. When <see langword="false"/>, only endpoints marked with
    /// <c>WithCoalescing()</c> are. Default: <see langword="true"/>.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    public bool CoalesceAllGetRequests { get; set; } = true;

    /// <summary>
    /// The largest response body copied for followers and memoization, in bytes. A larger response still
    /// streams in full to its own client, but is not shared: followers run their own requests. Default:
    /// 1 MiB. Range: 0 to 1 GiB.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    [Range(0, RequestCoalescingOptionsValidator.MaxBodyLimit)]
    public long MaxBufferedBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How far, in bytes, a follower streaming a leader's body may fall behind the leader once the body has outgrown
    /// <see cref="MaxBufferedBodyBytes"/>. Followers get the leader's status and headers as soon as its response starts
    /// and its bytes as they are written; the body is kept from its first byte up to <see cref="MaxBufferedBodyBytes"/>
    /// (so a follower that joins late reads it whole), and past that only the last <see cref="MaxFollowerLagBytes"/>
    /// bytes are kept and no new follower joins. A follower further behind (a slow client) is ended as a failed
    /// transfer, its connection aborted, never handed a gap. Default: 1 MiB. Range: 16 KiB to 1 GiB.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    [Range(16 * 1024, RequestCoalescingOptionsValidator.MaxBodyLimit)]
    public long MaxFollowerLagBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long a follower waits for the leader's response before running its own request. Default: 30 seconds.
    /// Range: more than zero and at most one day, or <see cref="Timeout.InfiniteTimeSpan"/>.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    public TimeSpan WaitTimeout { get; set; } = DefaultWaitTimeout;

    /// <summary>
    /// How long a key passes straight through once a response for it could not be shared (it set a cookie,
    /// was too large or was not finished), so new arrivals don't queue behind a leader whose answer won't be
    /// shared. Default: 2 seconds. Range: zero (off) to one hour.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan PassThroughDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The request headers that change a response and so form part of the key. Default: <c>Accept</c>,
    /// <c>Accept-Encoding</c>, <c>Accept-Language</c>. Endpoint policies add to these with <c>VaryByHeader</c>.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    public ISet<string> VaryByHeaders { get; } =
        new HashSet<string>(["Accept", "Accept-Encoding", "Accept-Language"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the key includes a hash of the caller's identity, so two callers never share a response while one
    /// caller's duplicates still coalesce. Identity is: the <see cref="IdentityHeaders"/>; when
    /// <c>HttpContext.User</c> is authenticated, each authenticated identity's scheme and its name identifier (or
    /// <c>sub</c>) claim, or all its claims when it has neither; and the client certificate's SHA-256 thumbprint.
    /// Turn off only when responses never depend on who asks. Default: <see langword="true"/>.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    public bool VaryByIdentity { get; set; } = true;

    /// <summary>
    /// The request headers that identify a caller, hashed into the key with the rest of its identity (see
    /// <see cref="VaryByIdentity"/>). Add the header an app reads identity from without an authentication handler.
    /// Default: <c>Authorization</c>, <c>Cookie</c>, <c>X-Api-Key</c>.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    public ISet<string> IdentityHeaders { get; } =
        new HashSet<string>(["Authorization", "Cookie", "X-Api-Key"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Request inputs never taken into account when deciding whether a request may share another's response, written
    /// as the stats write them: <c>header:X-Debug</c>, <c>query:utm_source</c>, <c>cookie:theme</c>,
    /// <c>item:startTime</c>, <c>connection:remote-address</c>, <c>connection:remote-port</c>,
    /// <c>request:protocol</c>. Coalesce observes what the app reads of each request outside the key and shares a
    /// response only with requests whose values of those inputs are equal; name here what the app reads but what never
    /// changes its response (a header it only logs, say). Default: empty.
    /// </summary>
    public ISet<string> IgnoredInputs { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether responses carry an RFC 9211 <c>Cache-Status</c> entry saying how Coalesce served them:
    /// <c>Coalesce; hit</c> (memoized), <c>Coalesce; fwd=miss; collapsed</c> (shared from another request's
    /// execution), <c>Coalesce; fwd=miss</c> (the endpoint ran for it) or <c>Coalesce; fwd=bypass</c> (not
    /// coalesced). Default: <see langword="false"/>.
    /// </summary>
    /// <remarks>See docs/request-coalescing.md in the repository.</remarks>
    public bool EmitCacheStatus { get; set; }

    /// <summary>
    /// The most entries the default <see cref="MemoCache"/> keeps for memoized endpoints before it evicts the
    /// least recently used. Default: 10,000. Range: 1 to 10,000,000.
    /// </summary>
    /// <remarks>See docs/memoization-and-tags.md in the repository.</remarks>
    [Range(1, 10_000_000)]
    public int MemoMaxEntries { get; set; } = 10_000;

    /// <summary>
    /// The most memory, in bytes, the default <see cref="MemoCache"/> keeps for memoized responses (bodies, headers,
    /// keys and bookkeeping, as <see cref="CacheStats.ApproximateBytes"/> counts them); past it the least recently used
    /// go. Anyone can send distinct query strings, so this bound, not <see cref="MemoMaxEntries"/>, is what holds memory
    /// down when responses are large. Default: 100 MiB (as OutputCache's <c>SizeLimit</c>). Range: 1 KiB to 1 TiB.
    /// </summary>
    /// <remarks>See docs/memoization-and-tags.md in the repository.</remarks>
    [Range(RequestCoalescingOptionsValidator.MinMemoBytes, RequestCoalescingOptionsValidator.MaxMemoBytes)]
    public long MemoMaxBytes { get; set; } = DefaultMemoMaxBytes;

    /// <summary>
    /// The largest memoized response kept, in bytes, counted as for <see cref="MemoMaxBytes"/>. A larger one is still
    /// served to its callers but not kept (counted in <see cref="CacheStats.Rejections"/>). Default: 1 MiB + 64 KiB,
    /// room for a body of the default <see cref="MaxBufferedBodyBytes"/> with its headers and key; raise the two
    /// together. Range: 1 KiB to <see cref="MemoMaxBytes"/>.
    /// </summary>
    /// <remarks>See docs/memoization-and-tags.md in the repository.</remarks>
    public long MemoMaxEntryBytes { get; set; } = DefaultMemoMaxEntryBytes;

    /// <summary>
    /// Adds a named policy, which endpoints use with <c>WithCoalescing("name")</c> or
    /// <c>[Coalesce(PolicyName = "name")]</c>, as OutputCache's named policies. Names compare case-insensitively; adding
    /// a name again replaces its policy. An endpoint that names a policy nobody added stops the app at start-up with a
    /// message naming the endpoint and the policy. Policies can also come from configuration (<c>Policies:{name}</c>).
    /// </summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="build">Shapes the policy, as <c>WithCoalescing(p =&gt; ...)</c> does.</param>
    public void AddPolicy(string name, Action<CoalescingPolicyBuilder> build)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(build);
        var builder = new CoalescingPolicyBuilder();
        build(builder);
        AddPolicy(name, builder.Build());
    }

    internal void AddPolicy(string name, CoalescingPolicy policy) => _policies[name] = policy;

    internal CoalescingPolicy? FindPolicy(string name) => _policies.GetValueOrDefault(name);

    /// <summary>
    /// How much of a keyed request's body an idempotent endpoint holds in memory while it hashes the body for the
    /// request's fingerprint, in bytes; the rest is buffered in a temporary file (as ASP.NET's
    /// <c>Request.EnableBuffering</c> does) and read again by the endpoint. The server's own request body limit bounds
    /// the whole. Default: 64 KiB. Range: 0 to 1 GiB.
    /// </summary>
    /// <remarks>See docs/idempotency.md in the repository.</remarks>
    public int IdempotencyBodyMemoryThreshold { get; set; } = 64 * 1024;

    /// <summary>
    /// Adds a named idempotency policy, which endpoints use with <c>WithIdempotency("name")</c> or
    /// <c>[Idempotent(PolicyName = "name")]</c>. Names compare case-insensitively; adding a name again replaces its
    /// policy. Policies can also come from configuration (<c>IdempotencyPolicies:{name}</c>).
    /// </summary>
    /// <param name="name">The policy's name.</param>
    /// <param name="build">Shapes the policy, as <c>WithIdempotency(p =&gt; ...)</c> does.</param>
    public void AddIdempotencyPolicy(string name, Action<IdempotencyPolicyBuilder> build)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(build);
        var builder = new IdempotencyPolicyBuilder();
        build(builder);
        AddIdempotencyPolicy(name, builder.Build());
    }

    internal void AddIdempotencyPolicy(string name, IdempotencyPolicy policy) => _idempotencyPolicies[name] = policy;

    internal IdempotencyPolicy? FindIdempotencyPolicy(string name) => _idempotencyPolicies.GetValueOrDefault(name);

    internal const long DefaultMemoMaxBytes = 100L * 1024 * 1024;

    internal const long DefaultMemoMaxEntryBytes = (1024 * 1024) + (64 * 1024);
}
