namespace Coalesce.AspNetCore;

/// <summary>
/// Idempotency keys across every instance of the app: an atomic claim of a scoped key with the request's fingerprint,
/// held as a lease while the endpoint runs, and the kept outcome for its retention. Registered by a scale-out package
/// (<c>AddStackExchangeRedisCoalescing</c>); absent (<see cref="NullDistributedIdempotency"/>) when the app runs
/// in-process only. No member throws because the shared store is down or slow: the answer is then
/// <see cref="DistributedClaimKind.Unavailable"/>. Only the caller's own cancellation throws.
/// </summary>
internal interface IDistributedIdempotency
{
    /// <summary>Whether a shared store stands behind it; <see langword="false"/> for the do-nothing object.</summary>
    bool Enabled { get; }

    /// <summary>How long a duplicate waits before it asks again while the key is held elsewhere (it then doubles, up to ten times this).</summary>
    TimeSpan RetryInterval { get; }

    /// <summary>Claims <paramref name="key"/> for a request with <paramref name="fingerprint"/>, or says who holds it or what it answered.</summary>
    ValueTask<DistributedClaim> TryClaimAsync(string key, byte[] fingerprint, CancellationToken cancellationToken);
}

/// <summary>What <see cref="IDistributedIdempotency.TryClaimAsync"/> found.</summary>
internal enum DistributedClaimKind
{
    /// <summary>The shared store cannot say (down, slow, or its breaker open).</summary>
    Unavailable,

    /// <summary>This request holds the key: run the endpoint and complete <see cref="DistributedClaim.Lease"/>.</summary>
    Claimed,

    /// <summary>Another request (on any instance) holds the key now, with <see cref="DistributedClaim.Fingerprint"/>.</summary>
    Held,

    /// <summary>The key's kept outcome: <see cref="DistributedClaim.Fingerprint"/> and the response in <see cref="DistributedClaim.Payload"/>.</summary>
    Outcome,
}

/// <summary>The answer of <see cref="IDistributedIdempotency.TryClaimAsync"/>.</summary>
/// <param name="Kind">What was found.</param>
/// <param name="Fingerprint">With <see cref="DistributedClaimKind.Held"/> and <see cref="DistributedClaimKind.Outcome"/>: the fingerprint of the request that holds or ran the key.</param>
/// <param name="Payload">With <see cref="DistributedClaimKind.Outcome"/>: the response as <see cref="CapturedResponseFormatter"/> wrote it.</param>
/// <param name="Lease">With <see cref="DistributedClaimKind.Claimed"/>: the claim to complete.</param>
internal readonly record struct DistributedClaim(
    DistributedClaimKind Kind, byte[]? Fingerprint = null, byte[]? Payload = null, IDistributedIdempotencyLease? Lease = null)
{
    public static DistributedClaim Unavailable => default;

    /// <summary>Whether the holder's or the outcome's fingerprint is <paramref name="fingerprint"/>.</summary>
    public bool Matches(byte[] fingerprint) => Fingerprint is not null && Fingerprint.AsSpan().SequenceEqual(fingerprint);
}

/// <summary>
/// A claim this instance holds: renewed in the background while the endpoint runs, so a holder that dies loses it when
/// the lease lapses (and a retry may then run: the dead holder's work may have happened).
/// </summary>
internal interface IDistributedIdempotencyLease
{
    /// <summary>
    /// Stops renewing and either keeps <paramref name="payload"/> under the key for <paramref name="retention"/> or, when
    /// it is <see langword="null"/>, frees the key. Does nothing when the lease was lost meanwhile. Never throws.
    /// </summary>
    Task CompleteAsync(byte[]? payload, TimeSpan retention);
}
