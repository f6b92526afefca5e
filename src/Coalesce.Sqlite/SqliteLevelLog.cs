using Microsoft.Extensions.Logging;

namespace Coalesce.Sqlite;

/// <summary>What the SQLite level logs (event ids 4001–4099). Keys are never logged.</summary>
internal static partial class SqliteLevelLog
{
    [LoggerMessage(4001, LogLevel.Warning, "The SQLite level failed to {Operation}; treated as a miss.")]
    public static partial void Failed(ILogger logger, Exception exception, string operation);

    [LoggerMessage(4002, LogLevel.Error, "The SQLite level could not record an invalidation; it answers no read until the process restarts, so nothing invalidated is served.")]
    public static partial void InvalidationLost(ILogger logger, Exception exception);
}
