namespace Coalesce;

/// <summary>
/// A <see cref="MemoCache"/>'s recent invalidations, so a fetch that started before one of them can tell, once it has
/// stored its result, that the result was read before the invalidation and must go. Versions count invalidations;
/// the last <see cref="Capacity"/> are kept, and a fetch that has seen more go by than that is treated as covered.
/// </summary>
internal sealed class InvalidationLog
{
    private const int Capacity = 64;

    private readonly CacheInvalidation[] _recent = new CacheInvalidation[Capacity];
    private readonly Lock _gate = new();
    private long _version;

    /// <summary>How many invalidations there have been; read it before a fetch starts.</summary>
    public long Version => Volatile.Read(ref _version);

    /// <summary>Records an invalidation; called before its entries are removed.</summary>
    public void Record(CacheInvalidation invalidation)
    {
        lock (_gate)
        {
            _recent[(int)(_version % Capacity)] = invalidation;
            Volatile.Write(ref _version, _version + 1);
        }
    }

    /// <summary>
    /// Whether an invalidation since <paramref name="version"/> covers an entry stored under <paramref name="key"/>
    /// with <paramref name="tags"/> (keys and tags without the cache's namespace); <see langword="true"/> when too
    /// many have gone by to tell.
    /// </summary>
    public bool CoversSince(long version, string key, IReadOnlyList<string> tags)
    {
        if (Volatile.Read(ref _version) == version)
        {
            return false;
        }

        lock (_gate)
        {
            if (_version - version > Capacity)
            {
                return true;
            }

            for (var v = version; v < _version; v++)
            {
                if (_recent[(int)(v % Capacity)].Covers(key, tags))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
