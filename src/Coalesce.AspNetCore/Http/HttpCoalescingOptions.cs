using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>
/// Settings of one HttpClient registered with <c>AddCoalescing</c>, as named options under the client's name.
/// Validated when the app starts: an out-of-range value stops it with a message that names the option and its range.
/// Read once, when the client's first handler is built.
/// </summary>
/// <remarks>
/// <para>
/// The handler's pipeline, outermost first: coalescing → memoization → rate limit → total timeout → retry →
/// fallback over base addresses → attempt timeout → network. The resilience steps are Polly strategies configured
/// with Microsoft.Extensions.Http.Resilience's options (<see cref="HttpRetryStrategyOptions"/>,
/// <see cref="HttpTimeoutStrategyOptions"/>) and Polly.RateLimiting. Fallback sits inside retry: one attempt tries
/// the request's own address and then each of <see cref="FallbackBaseAddresses"/> in order, the whole list failing
/// counts as one attempt, and retry then backs off and tries the list again.
/// </para>
/// <para>
/// As with <c>AddStandardResilienceHandler</c>, a response with a failing status (such as 503) that is still failing
/// after the last retry is returned to the caller as the response; a transport failure or timeout after the last
/// retry throws <see cref="HttpAllAttemptsFailedException"/>, an <see cref="HttpRequestException"/> listing every
/// attempt's error. <see cref="CoalescingOnly"/> turns every resilience step off.
/// </para>
/// <para>
/// When the client also has a resilience handler (<c>AddStandardResilienceHandler</c>, <c>AddResilienceHandler</c>,
/// <c>AddStandardHedgingHandler</c>), that handler owns retries and timeouts: <see cref="Retry"/>,
/// <see cref="AttemptTimeout"/> and <see cref="TotalTimeout"/> step aside (so retries never multiply), while
/// coalescing, memoization, <see cref="RateLimit"/> and <see cref="FallbackBaseAddresses"/> keep working. Call
/// <c>AddCoalescing()</c> before the resilience handler, so that a flight of identical requests goes through that
/// handler once.
/// </para>
/// <para>
/// <see cref="System.Net.Http.HttpClient.Timeout"/> (100 seconds unless set) cancels the whole call on top of
/// this pipeline. So that it does not silently cut <see cref="TotalTimeout"/> short, <c>AddCoalescing</c> sets it
/// to <see cref="Timeout.InfiniteTimeSpan"/> whenever <see cref="TotalTimeout"/> is set and no other resilience handler
/// is present; a <c>ConfigureHttpClient</c> registered after <c>AddCoalescing</c> can still set it, and then the
/// shorter one wins.
/// </para>
/// </remarks>
public sealed class HttpCoalescingOptions
{
    /// <summary>The default largest response body shared between coalesced callers: 4 MiB.</summary>
    public const long DefaultMaxResponseBodyBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Whether identical concurrent GET and HEAD requests without content share one network call. Requests match
    /// when they are equal in everything the handler is given: method, absolute URI, HTTP version and version policy,
    /// every request header except <see cref="IgnoreHeaders"/> (names compared case-insensitively, in any order;
    /// values in order), and every request option (<see cref="HttpRequestMessage.Options"/>) except
    /// <see cref="IgnoreRequestOptions"/>. So two calls that differ in an API key, a tenant header or <c>Accept</c>
    /// never share a response. Header values and option values enter the key only as a hash (SHA-256), so credentials
    /// such as <c>Authorization</c>, <c>Cookie</c> or an API key header are never held in clear. Default:
    /// <see langword="true"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// A request option compares by value when it is <see langword="null"/>, a <see cref="string"/>, a primitive
    /// (<see cref="bool"/>, <see cref="char"/>, the integer and floating-point types), an enum, <see cref="decimal"/>,
    /// <see cref="Guid"/>, <see cref="TimeSpan"/>, <see cref="DateTime"/>, <see cref="DateTimeOffset"/>,
    /// <see cref="DateOnly"/>, <see cref="TimeOnly"/>, <see cref="Half"/>, <see cref="Int128"/> or
    /// <see cref="UInt128"/> (its type counts too: <c>1</c> and <c>1L</c> differ). Any other value, a class or a boxed
    /// struct, compares by reference: a call shares only with calls that carry that same object (a singleton set on
    /// every request still shares; a new object per call never does), since the handler cannot know what an arbitrary
    /// type's equality means for the response.
    /// </para>
    /// </remarks>
    public bool Coalesce { get; set; } = true;

    /// <summary>No longer used: every request header is part of the key now, except <see cref="IgnoreHeaders"/>.</summary>
    /// <remarks>
    /// Kept so that code and configuration that set it still compile and bind; what it holds has no effect. To keep a
    /// header out of the key, add it to <see cref="IgnoreHeaders"/>. Default: empty.
    /// </remarks>
    [Obsolete("Every request header is part of the coalescing key now; this set has no effect. To leave a header out of the key, add it to IgnoreHeaders.")]
    public ISet<string> VaryByHeaders { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The request headers left out of the key: headers that differ on every call by design and never change the
    /// response, so calls that differ only in them still share. Names compare case-insensitively. Each must be a
    /// non-empty header name; the credentials <c>Authorization</c>, <c>Proxy-Authorization</c> and <c>Cookie</c> are
    /// refused (two identities must never share). Default: the distributed-tracing headers that every propagator the
    /// framework ships writes (<see cref="System.Diagnostics.DistributedContextPropagator"/>, used by HttpClient's own
    /// diagnostics): <c>traceparent</c>, <c>tracestate</c>, <c>baggage</c>, <c>Request-Id</c>,
    /// <c>Correlation-Context</c>. HttpClient's diagnostics add them inside the primary handler, below this one, so they
    /// reach the key when a handler outside this one, header propagation or a resent request already carries them. Add the headers of another propagator (such as B3's <c>b3</c> and
    /// <c>X-B3-*</c>) or of your own per-call correlation id here. Bound from configuration, a list replaces this
    /// default, as every list does: name the tracing headers in it too if they are to stay ignored.
    /// </summary>
    public ISet<string> IgnoreHeaders { get; } = new HashSet<string>(DefaultIgnoreHeaders, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The request options (keys of <see cref="HttpRequestMessage.Options"/>) left out of the key: per-call state that
    /// handlers outside this one attach and that never changes the response. Keys compare ordinally (as
    /// <see cref="HttpRequestOptions"/> does). Each must be a non-empty key. Default: the keys the framework's handler
    /// packages set on every call: <c>Resilience.Http.ResilienceContext</c> (Microsoft.Extensions.Http.Resilience),
    /// <c>PolicyExecutionContext</c> (Microsoft.Extensions.Http.Polly) and <c>R9-RequestMetadata</c> (the telemetry
    /// metadata of Microsoft.Extensions.Http.Diagnostics).
    /// </summary>
    public ISet<string> IgnoreRequestOptions { get; } = new HashSet<string>(DefaultIgnoreRequestOptions, StringComparer.Ordinal);

    private static string[] DefaultIgnoreHeaders => ["traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context"];

    private static string[] DefaultIgnoreRequestOptions => ["Resilience.Http.ResilienceContext", "PolicyExecutionContext", "R9-RequestMetadata"];

    /// <summary>
    /// The largest response body buffered to share between coalesced callers (and to memoize). A larger body is
    /// not shared: the first caller to take the result gets the response streamed as it came, and every other
    /// caller of that flight sends its own request. Default: <see cref="DefaultMaxResponseBodyBytes"/> (4 MiB).
    /// Range: 0 to 1 GiB.
    /// </summary>
    [Range(0, RequestCoalescingOptionsValidator.MaxBodyLimit)]
    public long MaxResponseBodyBytes { get; set; } = DefaultMaxResponseBodyBytes;

    /// <summary>
    /// Retry of failed attempts, with the options of Microsoft.Extensions.Http.Resilience: by default 3 retries,
    /// exponential backoff from 2 seconds with jitter, <c>Retry-After</c> honoured, and transient failures handled
    /// (408, 429, 5xx, <see cref="HttpRequestException"/>, a timed-out attempt). Its <c>ShouldHandle</c> also decides
    /// which outcomes move a call on to the next of <see cref="FallbackBaseAddresses"/>. <see langword="null"/> turns
    /// retry off. Default: a new <see cref="HttpRetryStrategyOptions"/>.
    /// </summary>
#pragma warning disable SYSLIB1212 // Checked by HttpCoalescingOptionsValidator with this library's tighter bounds (at most 100 attempts), not Polly's own.
    public HttpRetryStrategyOptions? Retry { get; set; } = new();
#pragma warning restore SYSLIB1212

    /// <summary>
    /// Whether requests with unsafe methods (POST, PUT, PATCH, DELETE and any non-GET/HEAD/OPTIONS/TRACE) are
    /// retried and sent to fallback addresses after a response or a timeout. Off by default, unlike
    /// <see cref="HttpRetryStrategyOptions"/> on its own: such a request may already have taken effect. Without it, an
    /// unsafe request moves to the next base address only when the connection could not be made at all, and its
    /// response is returned as it came. Default: <see langword="false"/>.
    /// </summary>
    public bool RetryUnsafeMethods { get; set; }

    /// <summary>
    /// How long one attempt at one address may take (the response headers, and for a shared response also its
    /// body); when it fires the attempt fails and the next address or retry follows. <see langword="null"/> for
    /// none. Default: 10 seconds. Range: more than zero and at most 1 day.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan? AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a call may take across every attempt, fallback and retry delay; when it fires the call fails with
    /// <see cref="HttpAllAttemptsFailedException"/> whose last error is a <c>Polly.Timeout.TimeoutRejectedException</c>.
    /// Time spent waiting for a rate-limit permit does not count. <see langword="null"/> for none (then
    /// <see cref="System.Net.Http.HttpClient.Timeout"/> is left as configured). Default: 30 seconds. Range: more than
    /// zero and at most 1 day.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan? TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Other base addresses of the same service, tried in order within each attempt after the request's own address
    /// fails. Each replaces the scheme, host and port of the request URI; path, query, headers and body stay the
    /// same, so each must be an absolute http or https URI with no path, query or fragment. Default: empty.
    /// </summary>
    public IList<Uri> FallbackBaseAddresses { get; } = [];

    /// <summary>
    /// Makes the response a call returns instead of throwing <see cref="HttpAllAttemptsFailedException"/> (every
    /// attempt failed with a transport error or a timeout), from the request and that exception. A final failing
    /// status is already a response and is returned as it is. Not used when the caller cancelled or the rate limit
    /// rejected the call. Default: <see langword="null"/> (throw).
    /// </summary>
    public Func<HttpRequestMessage, HttpAllAttemptsFailedException, HttpResponseMessage>? FallbackResponse { get; set; }

    /// <summary>A rate limit on network calls; <see langword="null"/> for none. Default: <see langword="null"/>.</summary>
    [ValidateObjectMembers]
    public HttpRateLimitOptions? RateLimit { get; set; }

    /// <summary>
    /// How long a successful (2xx) GET response is kept in the app's <see cref="MemoCache"/> and served without a
    /// network call; <see langword="null"/> turns memoization off. Responses that set a cookie or exceed
    /// <see cref="MaxResponseBodyBytes"/> are not kept. Default: <see langword="null"/>. Range: more than zero and at
    /// most 1 day.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan? MemoizeTtl { get; set; }

    /// <summary>
    /// Tags of memoized responses, for <see cref="MemoCache.InvalidateByTagAsync"/>. Entries are stored under keys
    /// that start with <c>http:{client name}:</c>. Default: empty.
    /// </summary>
    public ISet<string> MemoizeTags { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// How long past <see cref="MemoizeTtl"/> a memoized response is still returned at once while one background call
    /// (the original request, resent with a token of the app's lifetime, not the caller's) refreshes it
    /// (<c>stale-while-revalidate</c>). Callers meanwhile get the stale response too and start no other call. A failed
    /// refresh (an exception or a status other than 2xx) keeps the stale response and is counted and reported by the
    /// app's <see cref="MemoCache.RefreshFailed"/>. Default: <see langword="null"/> (none). Range: zero to 7 days; needs
    /// <see cref="MemoizeTtl"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan? MemoizeStaleWhileRevalidate { get; set; }

    /// <summary>
    /// How long past <see cref="MemoizeTtl"/> a memoized response is returned instead of the failure of the call that
    /// should replace it: an exception (every attempt failed, a timeout, the rate limit; not the caller's own
    /// cancellation) or a 5xx (<c>stale-if-error</c>). Outside the window the failure goes through as before. Default:
    /// <see langword="null"/> (none). Range: zero to 7 days; needs <see cref="MemoizeTtl"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan? MemoizeStaleIfError { get; set; }

    /// <summary>
    /// When a stale response inside <see cref="MemoizeStaleIfError"/> exists and the call replacing it takes longer than
    /// this, callers get the stale response at once, and the call completes in the background and memoizes its
    /// response. Default: <see langword="null"/> (callers wait). Range: more than zero and at most 1 day; needs
    /// <see cref="MemoizeStaleIfError"/>.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", MinimumIsExclusive = true)]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = OptionRanges.TimeRangeJustification)]
    public TimeSpan? MemoizeSoftTimeout { get; set; }

    /// <summary>Turns on memoization of successful GET responses for <paramref name="ttl"/>, with <paramref name="tags"/>.</summary>
    /// <param name="ttl">How long a response is kept; see <see cref="MemoizeTtl"/>.</param>
    /// <param name="tags">Tags added to <see cref="MemoizeTags"/>.</param>
    /// <returns>These options.</returns>
    public HttpCoalescingOptions Memoize(TimeSpan ttl, params string[] tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        MemoizeTtl = ttl;
        foreach (var tag in tags)
        {
            MemoizeTags.Add(tag);
        }

        return this;
    }

    /// <summary>Serves memoized responses stale while one background call refreshes them; see <see cref="MemoizeStaleWhileRevalidate"/>.</summary>
    /// <param name="window">How long past the time to live.</param>
    /// <returns>These options.</returns>
    public HttpCoalescingOptions StaleWhileRevalidate(TimeSpan window)
    {
        MemoizeStaleWhileRevalidate = window;
        return this;
    }

    /// <summary>Serves memoized responses stale when the call replacing them fails; see <see cref="MemoizeStaleIfError"/>.</summary>
    /// <param name="window">How long past the time to live.</param>
    /// <param name="softTimeout">Optionally, how long a caller waits for that call before getting the stale response; see <see cref="MemoizeSoftTimeout"/>.</param>
    /// <returns>These options.</returns>
    public HttpCoalescingOptions StaleIfError(TimeSpan window, TimeSpan? softTimeout = null)
    {
        MemoizeStaleIfError = window;
        MemoizeSoftTimeout = softTimeout ?? MemoizeSoftTimeout;
        return this;
    }

    /// <summary>
    /// Turns every resilience step off — retry, both timeouts, fallback addresses, the fallback response and the
    /// rate limit — leaving coalescing (and memoization, if set): each flight makes exactly one network call, and
    /// its response or exception reaches every caller as the network gave it.
    /// </summary>
    /// <returns>These options.</returns>
    public HttpCoalescingOptions CoalescingOnly()
    {
        Retry = null;
        AttemptTimeout = null;
        TotalTimeout = null;
        FallbackBaseAddresses.Clear();
        FallbackResponse = null;
        RateLimit = null;
        return this;
    }
}
