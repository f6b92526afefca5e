namespace Coalesce.AspNetCore;

/// <summary>Idempotency keys without a scale-out package: never asked (<see cref="Enabled"/> is false).</summary>
internal sealed class NullDistributedIdempotency : IDistributedIdempotency
{
    public static readonly NullDistributedIdempotency Instance = new();

    public bool Enabled => false;

    public TimeSpan RetryInterval => TimeSpan.Zero;

    public ValueTask<DistributedClaim> TryClaimAsync(string key, byte[] fingerprint, CancellationToken cancellationToken) =>
        ValueTask.FromResult(DistributedClaim.Unavailable);
}
