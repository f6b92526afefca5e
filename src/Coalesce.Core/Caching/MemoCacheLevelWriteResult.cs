namespace Coalesce;

/// <summary>What became of a write to an <see cref="IMemoCacheLevel"/>.</summary>
public enum MemoCacheLevelWriteResult
{
    /// <summary>Stored.</summary>
    Stored,

    /// <summary>Larger than the level takes: the value stays in memory only.</summary>
    TooLarge,

    /// <summary>A tag was invalidated after the fetch began: the value is stale and was not stored.</summary>
    Stale,

    /// <summary>The level is unavailable or did not answer in time.</summary>
    Unavailable,
}
