using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>The middleware's log messages, event ids 2000–2099 (see ARCHITECTURE.md). Keys are never logged: they can carry user data.</summary>
internal static partial class CoalescingLog
{
    [LoggerMessage(2001, LogLevel.Debug, "Response for {Endpoint} was not shared ({Reason}); its key passes through for {Duration}.")]
    public static partial void NotShared(ILogger logger, string endpoint, string reason, TimeSpan duration);

    [LoggerMessage(2002, LogLevel.Information, "A follower of {Endpoint} waited {Timeout} for its leader and now runs on its own.")]
    public static partial void FollowerTimedOut(ILogger logger, string endpoint, TimeSpan timeout);

    [LoggerMessage(2004, LogLevel.Warning, "UseRequestCoalescing ran before routing chose an endpoint, so no request is coalesced. Call UseRequestCoalescing after UseRouting (and after UseAuthentication and UseAuthorization).")]
    public static partial void RoutingRanLater(ILogger logger);

    [LoggerMessage(2022, LogLevel.Warning, "A request was routed by legacy routing (UseMvc with MvcOptions.EnableEndpointRouting = false, or UseRouter), which chooses no endpoint, so no request is coalesced. Use endpoint routing: MapControllers (or MapControllerRoute) with EnableEndpointRouting left true.")]
    public static partial void LegacyRouting(ILogger logger);

    [LoggerMessage(2005, LogLevel.Debug, "Evicted {Count} memoized responses tagged {Tags} after {Endpoint} succeeded.")]
    public static partial void Invalidated(ILogger logger, int count, string tags, string endpoint);

    [LoggerMessage(2006, LogLevel.Warning, "Memoizing a response of {Endpoint} failed; the response was still sent. Logged once per endpoint.")]
    public static partial void MemoizeFailed(ILogger logger, Exception exception, string endpoint);

    [LoggerMessage(2007, LogLevel.Error, "The coalescing settings of {Endpoint} cannot work, so its requests are not coalesced: {Problem}")]
    public static partial void EndpointMisconfigured(ILogger logger, string endpoint, string problem);

    [LoggerMessage(2008, LogLevel.Warning, "The coalescing key function of {Endpoint} failed; its requests run without coalescing. Logged once per endpoint.")]
    public static partial void KeyFunctionFailed(ILogger logger, Exception exception, string endpoint);

    [LoggerMessage(2009, LogLevel.Warning, "Resolving the coalescing tags of {Endpoint} failed; its requests run without coalescing. Logged once per endpoint.")]
    public static partial void TagsFailed(ILogger logger, Exception exception, string endpoint);

    [LoggerMessage(2010, LogLevel.Debug, "The leader's client for {Endpoint} went away; a waiting follower took over its flight.")]
    public static partial void TookOver(ILogger logger, string endpoint);

    [LoggerMessage(2011, LogLevel.Warning, "A second-level entry for {Endpoint} could not be read ({Problem}); it counts as a miss and the endpoint runs.")]
    public static partial void SecondLevelMalformed(ILogger logger, string endpoint, string problem);

    [LoggerMessage(2012, LogLevel.Warning, "The second level failed for {Endpoint}; the request is served as without it.")]
    public static partial void SecondLevelFailed(ILogger logger, Exception exception, string endpoint);

    [LoggerMessage(2013, LogLevel.Error, "Publishing the invalidation of {Tags} after {Endpoint} succeeded failed; other instances may serve stale entries until they expire.")]
    public static partial void PublishFailed(ILogger logger, Exception exception, string tags, string endpoint);

    [LoggerMessage(2015, LogLevel.Warning, "{Endpoint} failed ({Failure}); while it fails, its stale memoized responses answer inside their windows, and it is tried again once every {Rest}.")]
    public static partial void EndpointFailing(ILogger logger, Exception? exception, string endpoint, string failure, TimeSpan rest);

    [LoggerMessage(2016, LogLevel.Debug, "{Endpoint} failed again ({Failure}); its stale memoized responses keep answering.")]
    public static partial void EndpointStillFailing(ILogger logger, string endpoint, string failure);

    [LoggerMessage(2017, LogLevel.Debug, "The memoized response of {Endpoint} is stale; it is served while a background refresh renders a new one.")]
    public static partial void RefreshStarted(ILogger logger, string endpoint);

    [LoggerMessage(2018, LogLevel.Information, "{Endpoint} answers again; its stale memoized responses are refreshed as usual.")]
    public static partial void EndpointRecovered(ILogger logger, string endpoint);

    [LoggerMessage(2019, LogLevel.Information, "{Endpoint} reads {Input}, which its key does not hold: requests that differ in it no longer share a response, and it joins the endpoint's key from now on. To key it from the first request, use {Remedy}; to ignore it, add it to IgnoredInputs.")]
    public static partial void InputLearned(ILogger logger, string endpoint, string input, string remedy);

    [LoggerMessage(2021, LogLevel.Debug, "{Method} {Path}: {Outcome}{Why}.")]
    public static partial void Answered(ILogger logger, string method, string? path, string outcome, string why);

    [LoggerMessage(2023, LogLevel.Debug, "A follower of {Endpoint} streaming the leader's response was ended after {Bytes} bytes: {Reason}.")]
    public static partial void StreamAborted(ILogger logger, string endpoint, long bytes, string reason);

    [LoggerMessage(2101, LogLevel.Information, "{Endpoint} is coalesced; its key: {Key}; {Policy}.")]
    public static partial void EndpointCoalesced(ILogger logger, string endpoint, string key, string policy);

    [LoggerMessage(2020, LogLevel.Debug, "A response of {Endpoint} was not shared with a request whose {Input} differs from the one it was computed from.")]
    public static partial void InputDiffered(ILogger logger, string endpoint, string input);

    [LoggerMessage(2031, LogLevel.Warning, "An outcome of {Method} {Endpoint} was not kept under its idempotency key ({Reason}); a retry with the key runs the endpoint again.")]
    public static partial void IdempotentOutcomeNotKept(ILogger logger, string method, string endpoint, string reason);

    [LoggerMessage(2032, LogLevel.Warning, "The idempotency outcome another instance kept for {Method} {Endpoint} could not be read ({Problem}); the request is answered as if the shared store were unavailable.")]
    public static partial void IdempotentOutcomeUnreadable(ILogger logger, string method, string endpoint, string problem);
}
