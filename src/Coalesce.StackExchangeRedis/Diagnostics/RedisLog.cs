using Microsoft.Extensions.Logging;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// The Redis level's log messages, event ids 3000–3099 (the range of this package). Keys are never logged: they can
/// carry user data; tags are, as they name data rather than users.
/// </summary>
internal static partial class RedisLog
{
    [LoggerMessage(EventId = 3001, EventName = "RedisCallFailed", Level = LogLevel.Warning,
        Message = "Redis call {Operation} failed; the caller goes on without Redis.")]
    public static partial void CallFailed(ILogger logger, Exception exception, string operation);

    [LoggerMessage(EventId = 3002, EventName = "RedisCallTimedOut", Level = LogLevel.Warning,
        Message = "Redis call {Operation} took longer than its budget of {Budget}; the caller goes on without Redis.")]
    public static partial void CallTimedOut(ILogger logger, string operation, TimeSpan budget);

    [LoggerMessage(EventId = 3003, EventName = "RedisBreakerOpened", Level = LogLevel.Warning,
        Message = "Redis breaker opened ({Reason}); this instance works in-process and probes Redis every {ProbeInterval}.")]
    public static partial void BreakerOpened(ILogger logger, string reason, TimeSpan probeInterval);

    [LoggerMessage(EventId = 3004, EventName = "RedisBreakerClosed", Level = LogLevel.Information,
        Message = "Redis breaker closed after {Duration}: Redis answers and this instance is caught up.")]
    public static partial void BreakerClosed(ILogger logger, TimeSpan duration);

    [LoggerMessage(EventId = 3005, EventName = "RedisConnectFailed", Level = LogLevel.Warning,
        Message = "Connecting to Redis failed; the app runs in-process and keeps trying.")]
    public static partial void ConnectFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3006, EventName = "RedisConnectionFailed", Level = LogLevel.Warning,
        Message = "Redis {ConnectionType} connection to {EndPoint} failed ({FailureType}).")]
    public static partial void ConnectionFailed(ILogger logger, Exception? exception, string connectionType, string? endPoint, string failureType);

    [LoggerMessage(EventId = 3007, EventName = "RedisProbeFailed", Level = LogLevel.Debug,
        Message = "Redis breaker probe failed; the breaker stays open.")]
    public static partial void ProbeFailed(ILogger logger, Exception? exception);

    [LoggerMessage(EventId = 3020, EventName = "InvalidationDeferred", Level = LogLevel.Warning,
        Message = "Redis is unavailable: invalidation of {Tags} is queued and published when it comes back.")]
    public static partial void InvalidationDeferred(ILogger logger, string tags);

    [LoggerMessage(EventId = 3021, EventName = "InvalidationsReplayed", Level = LogLevel.Information,
        Message = "Published {Count} queued invalidations (tags, keys, patterns, clears) as seq {Seq}.")]
    public static partial void InvalidationsReplayed(ILogger logger, int count, long seq);

    [LoggerMessage(EventId = 3022, EventName = "AckTimedOut", Level = LogLevel.Warning,
        Message = "Invalidation seq {Seq} was not confirmed by {Nodes} within {AckTimeout}; the write goes on.")]
    public static partial void AckTimedOut(ILogger logger, long seq, string nodes, TimeSpan ackTimeout);

    [LoggerMessage(EventId = 3023, EventName = "CaughtUp", Level = LogLevel.Debug,
        Message = "Caught up from seq {FromSeq} to {ToSeq}: applied {TagCount} invalidated tags, keys, patterns or clears.")]
    public static partial void CaughtUp(ILogger logger, long fromSeq, long toSeq, int tagCount);

    [LoggerMessage(EventId = 3024, EventName = "LocalFlush", Level = LogLevel.Information,
        Message = "Flushing local entries: {Reason}.")]
    public static partial void LocalFlush(ILogger logger, string reason);

    [LoggerMessage(EventId = 3025, EventName = "EvictorFailed", Level = LogLevel.Error,
        Message = "A local evictor ({Evictor}) failed to evict; its entries may be stale.")]
    public static partial void EvictorFailed(ILogger logger, Exception exception, string evictor);

    [LoggerMessage(EventId = 3026, EventName = "MalformedMessage", Level = LogLevel.Warning,
        Message = "Ignored a malformed message on {Channel}.")]
    public static partial void MalformedMessage(ILogger logger, string channel);

    [LoggerMessage(EventId = 3027, EventName = "HandlingFailed", Level = LogLevel.Error,
        Message = "Handling an invalidation from another instance failed.")]
    public static partial void HandlingFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 3028, EventName = "WriteNotConfirmed", Level = LogLevel.Warning,
        Message = "A write's invalidation of {Tags} could not be confirmed within {Bound} ({Reason}); the write is not answered with its 2xx.")]
    public static partial void WriteNotConfirmed(ILogger logger, string tags, string reason, TimeSpan bound);

    [LoggerMessage(EventId = 3040, EventName = "EntryTooLarge", Level = LogLevel.Debug,
        Message = "A {Bytes}-byte entry is over the second level's cap of {MaxBytes} bytes; it stays local.")]
    public static partial void EntryTooLarge(ILogger logger, int bytes, int maxBytes);

    [LoggerMessage(EventId = 3041, EventName = "EntryStale", Level = LogLevel.Debug,
        Message = "A second-level write from start seq {StartSeq} was refused: a tag was invalidated since.")]
    public static partial void EntryStale(ILogger logger, long startSeq);

    [LoggerMessage(EventId = 3042, EventName = "LeaseLost", Level = LogLevel.Warning,
        Message = "A lease lapsed before its execution finished (renewal found it gone or held by another instance); another instance may run the same key.")]
    public static partial void LeaseLost(ILogger logger);

    [LoggerMessage(EventId = 3043, EventName = "RemoteWaitTimedOut", Level = LogLevel.Information,
        Message = "Waited {Timeout} for another instance's execution; this instance runs it itself.")]
    public static partial void RemoteWaitTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(EventId = 3044, EventName = "LeaseTakenOver", Level = LogLevel.Information,
        Message = "Another instance's lease ended without a result (released, or lapsed after {Waited}); this instance leads the execution now.")]
    public static partial void LeaseTakenOver(ILogger logger, TimeSpan waited);

    [LoggerMessage(EventId = 3045, EventName = "LeaseCompleted", Level = LogLevel.Debug,
        Message = "Completed a lease as '{Mode}' (asked for '{Requested}').")]
    public static partial void LeaseCompleted(ILogger logger, string mode, string requested);

    [LoggerMessage(EventId = 3060, EventName = "IdempotencyValueUnreadable", Level = LogLevel.Warning,
        Message = "An idempotency key in Redis holds a value of {Length} bytes this version cannot read; the request is answered as if Redis were unavailable.")]
    public static partial void IdempotencyValueUnreadable(ILogger logger, int length);

    [LoggerMessage(EventId = 3061, EventName = "IdempotencyOutcomeTooLarge", Level = LogLevel.Warning,
        Message = "An idempotent outcome of {Length} bytes is over MaxEntryBytes ({MaxEntryBytes}) and is not shared; its key is freed across instances, so a retry on another instance runs again.")]
    public static partial void IdempotencyOutcomeTooLarge(ILogger logger, int length, int maxEntryBytes);
}
