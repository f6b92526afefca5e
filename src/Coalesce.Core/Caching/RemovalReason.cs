namespace Coalesce;

/// <summary>Why a store let an entry go.</summary>
internal enum RemovalReason
{
    /// <summary>Deleted by key.</summary>
    Deleted,

    /// <summary>Removed by tag or pattern invalidation.</summary>
    Invalidated,

    /// <summary>Its time to live ran out.</summary>
    Expired,

    /// <summary>The least recently used entry, dropped to stay within the size bound.</summary>
    Capacity,
}
