namespace Coalesce;

/// <summary>A background refresh of a stale entry failed; the stale entry stays. See <see cref="MemoCache.RefreshFailed"/>.</summary>
/// <param name="key">The entry's key.</param>
/// <param name="exception">Why the refresh failed.</param>
public sealed class CacheRefreshFailedEventArgs(string key, Exception exception) : EventArgs
{
    /// <summary>The entry's key (without the cache's namespace).</summary>
    public string Key { get; } = key;

    /// <summary>Why the refresh failed.</summary>
    public Exception Exception { get; } = exception;
}
