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

    /// <summary>
    /// Reads a live (fresh) entry without counting a hit or a miss and without marking it as used: for a caller that
    /// already counted its lookup and checks once more before doing the work (a flight that ended in between may have
    /// stored the value).
    /// </summary>
    internal bool TryPeek<T>(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out T value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (_store.TryPeek(StoreKey(key), out var raw) && (raw is not WindowedEntry windowed || TryUnwrapFresh(windowed, out raw)) && raw is T typed)
        {
            value = typed;
            return true;
        }

        value = default;
        return false;
    }
}
