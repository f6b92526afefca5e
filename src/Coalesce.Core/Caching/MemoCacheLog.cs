using Microsoft.Extensions.Logging;

namespace Coalesce;

/// <summary>What a <see cref="MemoCache"/> logs (event ids 1101–1199). Keys are never logged: they may carry user data.</summary>
internal static partial class MemoCacheLog
{
    [LoggerMessage(1101, LogLevel.Debug, "MemoCache '{Cache}' kept a fetched value in memory only: {Reason}.")]
    public static partial void NotShared(ILogger logger, string cache, string reason);

    [LoggerMessage(1102, LogLevel.Warning, "MemoCache '{Cache}' read a second-level payload of {Length} bytes that is not a {Type} ({Error}); treated as a miss.")]
    public static partial void PayloadUnreadable(ILogger logger, string cache, string type, int length, string error);

    [LoggerMessage(1103, LogLevel.Warning, "The second level of MemoCache '{Cache}' threw on a {Operation}; treated as unavailable.")]
    public static partial void SecondLevelFailed(ILogger logger, Exception exception, string cache, string operation);
}
