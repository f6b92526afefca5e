namespace Coalesce.AspNetCore;

/// <summary>
/// Applies other instances' invalidations to the app's <see cref="MemoCache"/>, through its own invalidation calls,
/// so its <c>Invalidating</c> hook fires as for a local call (the request flights in progress here are marked and
/// store nothing). Nothing applied here is published again.
/// </summary>
internal sealed class MemoCacheEvictor(MemoCache cache) : ILocalEvictor
{
    public async ValueTask EvictAsync(IReadOnlyCollection<InvalidationItem> items, long seq, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Any(static i => i.Kind == InvalidationKind.All))
        {
            await EvictAllAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var tags = items.Where(static i => i.Kind == InvalidationKind.Tag).Select(static i => i.Value).ToArray();
        if (tags.Length > 0)
        {
            await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => cache.InvalidateByTagsAsync(tags, cancellationToken)).ConfigureAwait(false);
        }

        foreach (var item in items)
        {
            switch (item.Kind)
            {
                case InvalidationKind.Key:
                    await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => cache.InvalidateAsync(item.Value, cancellationToken)).ConfigureAwait(false);
                    break;
                case InvalidationKind.Pattern:
                    try
                    {
                        await MemoCacheInvalidationPublisher.LocalOnlyAsync(() => cache.InvalidateByPatternAsync(item.Value, cancellationToken)).ConfigureAwait(false);
                    }
                    catch (ArgumentException)
                    {
                        // The writer checked it, so another version wrote it: what it covers is unknown here.
                        await EvictAllAsync(cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    break;
            }
        }
    }

    public async ValueTask EvictAllAsync(CancellationToken cancellationToken) =>
        await MemoCacheInvalidationPublisher.LocalOnlyAsync(async () =>
        {
            await cache.ClearAsync(cancellationToken).ConfigureAwait(false);
            return 0;
        }).ConfigureAwait(false);
}
