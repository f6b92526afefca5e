using System.Net;

namespace Coalesce.AspNetCore;

/// <summary>
/// How a coalescing HttpClient retries a failed attempt. An attempt fails when the network call throws a transient
/// exception, its attempt timeout fires, or the response status is one of <see cref="StatusCodes"/>; within one
/// attempt every base address is tried in order before the attempt counts as failed.
/// </summary>
public sealed class HttpRetryOptions
{
    /// <summary>
    /// How many times a failed attempt is retried; 0 turns retry off. Default: 3. Range: 0 to 100.
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The delay before the first retry. Default: 1 second. Range: zero to <see cref="MaxDelay"/>.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest delay between attempts, and the longest <c>Retry-After</c> that is honoured. Default: 30 seconds.
    /// Range: zero to 1 day.
    /// </summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The factor each retry's delay grows by: retry n waits <c>min(MaxDelay, BaseDelay * BackoffFactor^n)</c>.
    /// Default: 2. Range: 1 to 100.
    /// </summary>
    public double BackoffFactor { get; set; } = 2;

    /// <summary>
    /// Whether each delay is drawn uniformly from <c>[delay / 2, delay]</c>, so callers that failed together do
    /// not retry together. Default: <see langword="true"/>.
    /// </summary>
    public bool UseJitter { get; set; } = true;

    /// <summary>
    /// Whether a <c>Retry-After</c> header on a failed response (a delay or a date) replaces the computed delay,
    /// capped at <see cref="MaxDelay"/>. Default: <see langword="true"/>.
    /// </summary>
    public bool HonorRetryAfter { get; set; } = true;

    /// <summary>
    /// Whether requests with unsafe methods (POST, PUT, PATCH, DELETE and any non-GET/HEAD/OPTIONS/TRACE) are
    /// retried and sent to fallback addresses after a response or a timeout. Off by default: such a request may
    /// already have taken effect. Without it, an unsafe request moves to the next base address only when the
    /// connection could not be made at all, and its response is returned as it came. Default: <see langword="false"/>.
    /// </summary>
    public bool RetryUnsafeMethods { get; set; }

    /// <summary>
    /// The response status codes that fail an attempt. Default: 408, 429, 500, 502, 503, 504.
    /// </summary>
    public ISet<HttpStatusCode> StatusCodes { get; } = new HashSet<HttpStatusCode>(
    [
        HttpStatusCode.RequestTimeout, HttpStatusCode.TooManyRequests, HttpStatusCode.InternalServerError,
        HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.GatewayTimeout,
    ]);

    /// <summary>
    /// Decides which exceptions from the network fail an attempt (rather than end the call at once). The caller's
    /// own cancellation is never retried. Default: <see langword="null"/>, meaning <see cref="HttpRequestException"/>,
    /// an attempt timeout (<c>Polly.Timeout.TimeoutRejectedException</c>) and a cancellation the caller did not ask for
    /// (such as a connect timeout).
    /// </summary>
    public Func<Exception, bool>? ShouldRetryException { get; set; }
}
