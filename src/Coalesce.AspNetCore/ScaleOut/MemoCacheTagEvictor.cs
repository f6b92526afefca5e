namespace Coalesce.AspNetCore;

/// <summary>Evicts from the app's <see cref="MemoCache"/> when another instance invalidates tags.</summary>
internal sealed class MemoCacheTagEvictor(MemoCache cache) : ILocalTagEvictor
{
    public async ValueTask EvictTagsAsync(IReadOnlyCollection<string> tags, long seq, CancellationToken cancellationToken) =>
        await cache.InvalidateByTagsAsync(tags, cancellationToken).ConfigureAwait(false);

    public ValueTask EvictAllAsync(CancellationToken cancellationToken) => cache.ClearAsync(cancellationToken);
}
