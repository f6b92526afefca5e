using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>The dashboard's log messages (event ids 2110–2119). Keys are never logged: they can carry user data.</summary>
internal static partial class DashboardLog
{
    [LoggerMessage(2110, LogLevel.Warning, "The coalescing dashboard invalidated the tag {Tag} for {User}: {Removed} entries removed.")]
    public static partial void InvalidatedTag(ILogger logger, string tag, string user, int removed);

    [LoggerMessage(2111, LogLevel.Warning, "The coalescing dashboard invalidated a key for {User}: {Removed} entries removed.")]
    public static partial void InvalidatedKey(ILogger logger, string user, int removed);

    [LoggerMessage(2112, LogLevel.Warning, "The coalescing dashboard cleared the memo cache for {User}: {Removed} entries removed.")]
    public static partial void Cleared(ILogger logger, string user, int removed);

    [LoggerMessage(2113, LogLevel.Information, "The coalescing dashboard refused an invalidation from {RemoteAddress}: {Reason}")]
    public static partial void InvalidationRefused(ILogger logger, string? remoteAddress, string reason);
}
