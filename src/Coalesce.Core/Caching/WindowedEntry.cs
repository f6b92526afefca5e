namespace Coalesce;

/// <summary>
/// What <see cref="MemoCache"/> stores in place of a value that carries stale windows: the value and the monotonic
/// instants that bound its use. The store keeps it for the time to live plus the longer window; the cache's public
/// reads look through it and treat it as gone once <see cref="FreshUntil"/> has passed. Entries without windows are
/// stored bare, so the common hit path pays only a type check.
/// </summary>
internal sealed class WindowedEntry : ICacheSizeAware
{
    // Header, the value reference and four timestamps.
    private static readonly long OwnSize = CacheSizing.OfObject(IntPtr.Size + (4 * sizeof(long)));

    public WindowedEntry(object? value, long storedAt, long freshUntil, long revalidateUntil, long serveOnErrorUntil)
    {
        Value = value;
        StoredAt = storedAt;
        FreshUntil = freshUntil;
        RevalidateUntil = revalidateUntil;
        ServeOnErrorUntil = serveOnErrorUntil;
    }

    /// <summary>The stored value.</summary>
    public object? Value { get; }

    /// <summary>When it was stored.</summary>
    public long StoredAt { get; }

    /// <summary>The end of its time to live: from then on it is stale.</summary>
    public long FreshUntil { get; }

    /// <summary>The end of its stale-while-revalidate window (<see cref="FreshUntil"/> when it has none).</summary>
    public long RevalidateUntil { get; }

    /// <summary>The end of its stale-if-error window (<see cref="FreshUntil"/> when it has none).</summary>
    public long ServeOnErrorUntil { get; }

    /// <summary>The envelope and the value inside, so the byte bound counts what a stale entry really holds.</summary>
    public long ApproximateSize => OwnSize + CacheSizing.OfValue(Value);

    public bool IsFreshAt(long now) => now < FreshUntil;

    /// <summary>Whether any window still allows serving it at <paramref name="now"/> (fresh included).</summary>
    public bool IsUsableAt(long now) => now < RevalidateUntil || now < ServeOnErrorUntil;

    public EntryFreshness FreshnessAt(long now, TimeProvider time) => new(
        IsFresh: now < FreshUntil,
        CanRevalidate: now < RevalidateUntil,
        CanServeOnError: now < ServeOnErrorUntil,
        Age: time.GetElapsedTime(StoredAt, now),
        Stale: now < FreshUntil ? TimeSpan.Zero : time.GetElapsedTime(FreshUntil, now));
}
