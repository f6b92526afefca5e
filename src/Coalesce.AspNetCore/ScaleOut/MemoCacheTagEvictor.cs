namespace Coalesce.AspNetCore;

/// <summary>Evicts from the app's <see cref="MemoCache"/> when another instance invalidates tags.</summary>
internal sealed class MemoCacheTagEvictor(MemoCache cache) : ILocalTagEvictor
{
    public async ValueTask EvictTagsAsync(IReadOnlyCollection<string> tags, long seq, CancellationToken cancellationToken)
    {
        // Applying another instance's invalidation: not one to publish again.
        ValueTask<int> eviction;
        using (MemoCacheInvalidationPublisher.LocalOnly())
        {
            eviction = cache.InvalidateByTagsAsync(tags, cancellationToken);
        }

        await eviction.ConfigureAwait(false);
    }

    public ValueTask EvictAllAsync(CancellationToken cancellationToken) => cache.ClearAsync(cancellationToken);
}
