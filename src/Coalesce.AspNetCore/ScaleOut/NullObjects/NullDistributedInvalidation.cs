namespace Coalesce.AspNetCore;

/// <summary>
/// Invalidation on an app without a scale-out package: there are no other instances to tell, so this one is always
/// synchronized and a publication reaches nobody.
/// </summary>
internal sealed class NullDistributedInvalidation : IDistributedInvalidation
{
    public static readonly NullDistributedInvalidation Instance = new();

    private NullDistributedInvalidation()
    {
    }

    public long CurrentSeq => 0;

    public bool IsSynchronized => true;

    public ValueTask<long?> ReadSeqAsync(CancellationToken cancellationToken) => default;

    public Task<long> PublishAsync(IReadOnlyCollection<InvalidationItem> items, CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<long> PublishInvalidationAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<bool> ConfirmWriteAsync(IReadOnlyCollection<string> tags, CancellationToken cancellationToken) => Task.FromResult(true);
}
