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

    public async ValueTask EvictAllAsync(CancellationToken cancellationToken)
    {
        // Catching up on what this instance may have missed: nothing other instances need to hear.
        ValueTask clear;
        using (MemoCacheInvalidationPublisher.LocalOnly())
        {
            clear = cache.ClearAsync(cancellationToken);
        }

        await clear.ConfigureAwait(false);
    }
}
