namespace Coalesce;

/// <summary>A point-in-time view of one live entry of a store.</summary>
/// <param name="Key">The store key.</param>
/// <param name="Value">The value, by reference.</param>
/// <param name="TimeToLive">The time left before it expires, or <see langword="null"/> when it never does.</param>
/// <param name="Tags">Its tags.</param>
internal readonly record struct StoreEntry<TKey, TValue>(TKey Key, TValue Value, TimeSpan? TimeToLive, IReadOnlyList<string> Tags);
