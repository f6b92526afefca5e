using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>The coalescing HttpClient handler's log messages. Event ids are stable: 2200–2299 (see ARCHITECTURE.md). Keys and URIs' queries are never logged.</summary>
internal static partial class HttpCoalescingLog
{
    [LoggerMessage(EventId = 2201, EventName = "ResponseNotShared", Level = LogLevel.Debug,
        Message = "{Client}: a response body exceeds MaxResponseBodyBytes ({Limit}); one caller gets it streamed and the other callers of its flight send their own requests")]
    public static partial void ResponseNotShared(ILogger logger, string client, long limit);

    [LoggerMessage(EventId = 2202, EventName = "FallbackResponse", Level = LogLevel.Warning,
        Message = "{Client}: every attempt failed; the configured fallback response is returned")]
    public static partial void FallbackResponse(ILogger logger, string client, Exception error);

    [LoggerMessage(EventId = 2203, EventName = "FallingBackToAddress", Level = LogLevel.Information,
        Message = "{Client}: base address {Index} of {Count} failed ({Error}); trying the next one")]
    private static partial void FallingBackToAddress(ILogger logger, string client, int index, int count, string error);

    /// <summary>An expected event, logged as one line: the error's message, not its stack trace (the final failure keeps it).</summary>
    public static void FallingBackToAddress(ILogger logger, string client, int index, int count, Exception error) =>
        FallingBackToAddress(logger, client, index, count, error.Message);

    [LoggerMessage(EventId = 2204, EventName = "SteppingAside", Level = LogLevel.Information,
        Message = "{Client}: the client also has a {Handler}; it owns retries and timeouts, so Coalesce's retry and timeouts step aside (coalescing, memoization, rate limit and fallback addresses stay)")]
    public static partial void SteppingAside(ILogger logger, string client, string handler);

    [LoggerMessage(EventId = 2205, EventName = "RefreshFailed", Level = LogLevel.Warning,
        Message = "{Client}: refreshing a stale memoized response failed ({Status}); the stale response stays until its windows end")]
    public static partial void RefreshFailed(ILogger logger, string client, string status, Exception? error);
}
