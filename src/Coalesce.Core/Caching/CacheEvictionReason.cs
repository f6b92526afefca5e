namespace Coalesce;

/// <summary>Why a <see cref="MemoCache"/> let an entry go on its own.</summary>
public enum CacheEvictionReason
{
    /// <summary>
    /// It was the least recently used entry when <see cref="MemoCacheOptions.MaxEntries"/> or
    /// <see cref="MemoCacheOptions.MaxBytes"/> was reached.
    /// </summary>
    Capacity,

    /// <summary>Its time to live ran out.</summary>
    Expired,
}
