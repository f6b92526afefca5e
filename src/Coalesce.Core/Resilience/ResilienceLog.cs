using Microsoft.Extensions.Logging;

namespace Coalesce.Resilience;

/// <summary>Log events of the resilience layer. Event ids are stable: 1300–1399 (see ARCHITECTURE.md).</summary>
internal static partial class ResilienceLog
{
    [LoggerMessage(EventId = 1301, EventName = "Retrying", Level = LogLevel.Information,
        Message = "{Name}: attempt {Attempt} failed ({Error}); retry {Retry} in {Delay}")]
    private static partial void Retrying(ILogger logger, string name, int attempt, string error, int retry, TimeSpan delay);

    [LoggerMessage(EventId = 1302, EventName = "FallingBack", Level = LogLevel.Information,
        Message = "{Name}: fallback value {Index} of {Count} failed ({Error}); trying the next one")]
    private static partial void FallingBack(ILogger logger, string name, int index, int count, string error);

    // Retries and fallbacks are expected events: one line each, with the error's message rather than its stack
    // trace. The final failure (AllAttemptsFailed) still logs every exception in full.

    /// <summary>Logs a retry; <paramref name="failure"/> describes the outcome when there was no exception (an HTTP status).</summary>
    public static void Retrying(ILogger logger, string name, int attempt, int retry, TimeSpan delay, Exception? error, string? failure = null)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            Retrying(logger, name, attempt, error?.Message ?? failure ?? "no exception", retry, delay);
        }
    }

    public static void FallingBack(ILogger logger, string name, int index, int count, Exception error)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            FallingBack(logger, name, index, count, error.Message);
        }
    }

    [LoggerMessage(EventId = 1303, EventName = "RateLimitWaiting", Level = LogLevel.Debug,
        Message = "{Name}: rate limit reached; the call waits for a permit")]
    public static partial void RateLimitWaiting(ILogger logger, string name);

    [LoggerMessage(EventId = 1304, EventName = "RateLimitRejected", Level = LogLevel.Warning,
        Message = "{Name}: rate limit reached and its wait queue is full; the call is rejected")]
    public static partial void RateLimitRejected(ILogger logger, string name);

    [LoggerMessage(EventId = 1305, EventName = "AllAttemptsFailed", Level = LogLevel.Error,
        Message = "{Name}: all {Attempts} attempts failed")]
    public static partial void AllAttemptsFailed(ILogger logger, string name, int attempts, Exception error);

    [LoggerMessage(EventId = 1306, EventName = "ParallelMapItemFailed", Level = LogLevel.Warning,
        Message = "Parallel map: item {Index} failed")]
    public static partial void ParallelMapItemFailed(ILogger logger, int index, Exception error);
}
