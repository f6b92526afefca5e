namespace Coalesce;

public sealed partial class MemoCache
{
    /// <summary>
    /// Whether the entry under <paramref name="key"/> is <paramref name="value"/> itself (the same reference, inside a
    /// stale-window envelope or bare). Counts neither as a hit nor as a use: for code that stored a value and must learn
    /// whether it is still the one kept (not refused for its size, nor removed by an invalidation since).
    /// </summary>
    internal bool Holds(string key, object value)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _store.TryPeek(StoreKey(key), out var raw) && ReferenceEquals(raw is WindowedEntry windowed ? windowed.Value : raw, value);
    }
}
