using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>
/// Shapes how one endpoint (or a group) is coalesced: what its key varies by, whether its responses are
/// memoized and with which tags, and how long followers wait. Used through <c>WithCoalescing(p =&gt; ...)</c>.
/// </summary>
public sealed class CoalescingPolicyBuilder
{
    private readonly List<string> _headers = [];
    private readonly List<string> _routeValues = [];
    private readonly List<TagTemplate> _tags = [];
    private readonly List<Func<HttpContext, string>> _tagFunctions = [];
    private string[]? _queryKeys;
    private Func<HttpContext, string>? _keyFunction;
    private bool? _varyByIdentity;
    private TimeSpan? _memoizeTtl;
    private TimeSpan? _waitTimeout;
    private TimeSpan _staleWhileRevalidate;
    private TimeSpan _staleIfError;

    /// <summary>
    /// Keys requests by these query parameters only (names compared case-insensitively, in any order); other
    /// parameters are ignored. With no names, the query string is ignored entirely. <c>"*"</c> means every
    /// parameter, as in OutputCache: the whole query counts, which is also the default (parameters sorted by name,
    /// so their order in the URL doesn't matter).
    /// </summary>
    /// <param name="queryKeys">The query parameter names that change the response.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder VaryByQuery(params string[] queryKeys)
    {
        ArgumentNullException.ThrowIfNull(queryKeys);
        foreach (var key in queryKeys)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key, nameof(queryKeys));
        }

        _queryKeys = Array.IndexOf(queryKeys, "*") >= 0
            ? null
            : [.. queryKeys.Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)];
        return this;
    }

    /// <summary>Adds request headers to the key, on top of <see cref="RequestCoalescingOptions.VaryByHeaders"/>.</summary>
    /// <param name="headerNames">The header names that change the response.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder VaryByHeader(params string[] headerNames)
    {
        ArgumentNullException.ThrowIfNull(headerNames);
        foreach (var name in headerNames)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(headerNames));
            _headers.Add(name);
        }

        return this;
    }

    /// <summary>Adds route values to the key; useful with <see cref="KeyBy"/>, which replaces the path.</summary>
    /// <param name="routeValueNames">The route value names that change the response.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder VaryByRouteValue(params string[] routeValueNames)
    {
        ArgumentNullException.ThrowIfNull(routeValueNames);
        foreach (var name in routeValueNames)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(name, nameof(routeValueNames));
            _routeValues.Add(name);
        }

        return this;
    }

    /// <summary>
    /// Replaces the path and query part of the key with what <paramref name="keyFunction"/> returns. The method,
    /// the endpoint, the vary headers and the caller's identity still count, so a custom key can never make two
    /// users share a response. A function that throws or returns null fails that request with a clear error.
    /// </summary>
    /// <param name="keyFunction">Computes the key from the request.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder KeyBy(Func<HttpContext, string> keyFunction)
    {
        ArgumentNullException.ThrowIfNull(keyFunction);
        _keyFunction = keyFunction;
        return this;
    }

    /// <summary>
    /// Whether this endpoint's key includes the caller's identity (see <see cref="RequestCoalescingOptions.VaryByIdentity"/>).
    /// Pass <see langword="false"/> only for responses that never depend on who asks.
    /// </summary>
    /// <param name="enabled">Whether to vary by identity.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder VaryByIdentity(bool enabled = true)
    {
        _varyByIdentity = enabled;
        return this;
    }

    /// <summary>
    /// Keeps successful (2xx) responses in the app's <see cref="MemoCache"/> for <paramref name="ttl"/>, as rendered
    /// bytes, so hits never run the handler. Responses that set cookies, are larger than
    /// <see cref="RequestCoalescingOptions.MaxBufferedBodyBytes"/>, stream (files, streams, async sequences) or say
    /// <c>Cache-Control: no-store</c> are not kept.
    /// </summary>
    /// <param name="ttl">How long a response is kept. Must be positive.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder Memoize(TimeSpan ttl)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(ttl, TimeSpan.Zero);
        _memoizeTtl = ttl;
        return this;
    }

    /// <summary>
    /// Tags memoized responses so <c>InvalidatesTags(...)</c> or <see cref="MemoCache.InvalidateByTagAsync"/> can evict
    /// them. A tag may name route values in braces, such as <c>product:{id}</c>, filled from each request.
    /// </summary>
    /// <param name="tags">The tags.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder Tag(params string[] tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        foreach (var tag in tags)
        {
            _tags.Add(TagTemplate.Parse(tag, nameof(tags)));
        }

        return this;
    }

    /// <summary>Tags memoized responses with a tag computed from the request.</summary>
    /// <param name="tagFunction">Computes a tag; it must not return null or an empty string.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder Tag(Func<HttpContext, string> tagFunction)
    {
        ArgumentNullException.ThrowIfNull(tagFunction);
        _tagFunctions.Add(tagFunction);
        return this;
    }

    /// <summary>
    /// Lets a memoized response be served for <paramref name="window"/> after its time to live ran out, while one
    /// background execution renders a fresh one (RFC 5861's <c>stale-while-revalidate</c>, Varnish's grace). The
    /// first request past the time to live starts that refresh; it and every request meanwhile get the stale response
    /// at once, with an <c>Age</c> header (and <c>Cache-Status: ...; hit; ttl=-N; detail=stale-while-revalidate</c> when
    /// <see cref="RequestCoalescingOptions.EmitCacheStatus"/> is on). The refresh runs the endpoint for a request like
    /// the one that started it (method, path, query, headers, identity), in its own scope, cancelled only when the app
    /// stops. When it fails, the stale response stays and the endpoint rests a moment before it is tried again (see
    /// docs/stale-windows.md in the repository). Needs <see cref="Memoize"/>; an invalidated response is never served
    /// stale.
    /// </summary>
    /// <param name="window">How long past its time to live a response may be served. Must be positive.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder StaleWhileRevalidate(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _staleWhileRevalidate = window;
        return this;
    }

    /// <summary>
    /// Lets a memoized response be served for <paramref name="window"/> after its time to live ran out when the
    /// endpoint fails (RFC 5861's <c>stale-if-error</c>, FusionCache's fail-safe): it throws, answers 5xx, or its
    /// request times out (ASP.NET's request timeouts), and so when a follower's wait times out. Every client of that
    /// execution gets the stale response instead of the error, the leader included as long as nothing of its
    /// response had been sent. A failing endpoint then rests: stale responses answer without running it, and one request
    /// per rest (its time to live, at most 5 s) tries it again. Needs <see cref="Memoize"/>; an invalidated response is
    /// never served stale.
    /// </summary>
    /// <param name="window">How long past its time to live a response may stand in for an error. Must be positive.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder StaleIfError(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _staleIfError = window;
        return this;
    }

    /// <summary>How long this endpoint's followers wait for a leader before running on their own.</summary>
    /// <param name="timeout">More than zero and at most one day, or <see cref="Timeout.InfiniteTimeSpan"/>.</param>
    /// <returns>This builder.</returns>
    public CoalescingPolicyBuilder WaitTimeout(TimeSpan timeout)
    {
        if (!RequestCoalescingOptionsValidator.IsValidWaitTimeout(timeout))
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The wait timeout must be more than zero and at most 1 day, or Timeout.InfiniteTimeSpan.");
        }

        _waitTimeout = timeout;
        return this;
    }

    /// <exception cref="InvalidOperationException">A stale window is set without <see cref="Memoize"/>.</exception>
    internal CoalescingPolicy Build() => new()
    {
        StaleWhileRevalidate = _memoizeTtl is null && _staleWhileRevalidate > TimeSpan.Zero
            ? throw NeedsMemoize(nameof(StaleWhileRevalidate))
            : _staleWhileRevalidate,
        StaleIfError = _memoizeTtl is null && _staleIfError > TimeSpan.Zero
            ? throw NeedsMemoize(nameof(StaleIfError))
            : _staleIfError,
        VaryByQueryKeys = _queryKeys,
        VaryByHeaders = [.. _headers],
        VaryByRouteValues = [.. _routeValues],
        KeyFunction = _keyFunction,
        VaryByIdentity = _varyByIdentity,
        MemoizeTtl = _memoizeTtl,
        Tags = [.. _tags],
        TagFunctions = [.. _tagFunctions],
        WaitTimeout = _waitTimeout,
    };

    private static InvalidOperationException NeedsMemoize(string setting) =>
        new($"The coalescing policy sets {setting} without Memoize(ttl): a stale window starts when a memoized response's time to live ends, so add Memoize(...) to the policy.");
}
