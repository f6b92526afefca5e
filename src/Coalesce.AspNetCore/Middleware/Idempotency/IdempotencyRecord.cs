namespace Coalesce.AspNetCore;

/// <summary>A finished outcome kept under its scoped key: the fingerprint of the request that ran, and its response.</summary>
internal sealed class IdempotencyRecord(byte[] fingerprint, CapturedResponse response) : ICacheSizeAware
{
    public byte[] Fingerprint { get; } = fingerprint;

    public CapturedResponse Response { get; } = response;

    public long ApproximateSize => CacheSizing.OfObject(2 * 8) + CacheSizing.OfArray(Fingerprint.Length, 1) + Response.ApproximateSize;

    public bool Matches(byte[] fingerprint) => Fingerprint.AsSpan().SequenceEqual(fingerprint);
}
