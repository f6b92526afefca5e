namespace Coalesce;

/// <summary>How usable an entry read by <see cref="MemoCache.TryGetEntry{T}"/> is.</summary>
/// <param name="IsFresh">Within its time to live.</param>
/// <param name="CanRevalidate">
/// Before the end of its stale-while-revalidate window (true when fresh): it may be served while a refresh runs.
/// </param>
/// <param name="CanServeOnError">
/// Before the end of its stale-if-error window (true when fresh): it may be served when a fetch fails.
/// </param>
/// <param name="Age">Time since the value was stored, on the monotonic clock; zero for an entry stored without windows.</param>
/// <param name="Stale">How long past its time to live; zero when fresh.</param>
internal readonly record struct EntryFreshness(bool IsFresh, bool CanRevalidate, bool CanServeOnError, TimeSpan Age, TimeSpan Stale);
