namespace Coalesce.AspNetCore;

/// <summary>
/// Coalesces an MVC controller or action, the attribute form of <c>WithCoalescing(...)</c>: needed when
/// <see cref="RequestCoalescingOptions.CoalesceAllGetRequests"/> is off, to memoize and tag, or to shape the key as a
/// minimal API's policy does (<see cref="VaryByQuery"/>, <see cref="VaryByHeader"/>, <see cref="VaryByRouteValue"/>,
/// <see cref="VaryByIdentity"/>).
/// </summary>
/// <example>
/// <code>
/// [HttpGet("reports/{id}")]
/// [Coalesce(VaryByHeader = ["X-Tenant"], VaryByIdentity = false, MemoizeSeconds = 30)]
/// public Report Get(int id) => ...;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class CoalesceAttribute : Attribute
{
    private CoalescingPolicy? _policy;
    private bool? _varyByIdentity;

    /// <summary>
    /// The name of a policy added with <see cref="RequestCoalescingOptions.AddPolicy(string, Action{CoalescingPolicyBuilder})"/>
    /// or configured under <c>Policies:{name}</c>, used instead of this attribute's other settings (setting both stops
    /// the app at start-up). Default: <see langword="null"/> (the settings below).
    /// </summary>
    public string? PolicyName { get; set; }

    /// <summary>When positive, successful responses are memoized for this many seconds. Default: 0 (off).</summary>
    public int MemoizeSeconds { get; set; }

    /// <summary>
    /// When positive, a memoized response is served for this many seconds past its time to live while one background
    /// execution refreshes it (see <see cref="CoalescingPolicyBuilder.StaleWhileRevalidate"/>). Needs
    /// <see cref="MemoizeSeconds"/>. Default: 0 (off).
    /// </summary>
    public int StaleWhileRevalidateSeconds { get; set; }

    /// <summary>
    /// When positive, a memoized response stands in for a failed execution for this many seconds past its time to live
    /// (see <see cref="CoalescingPolicyBuilder.StaleIfError"/>). Needs <see cref="MemoizeSeconds"/>. Default: 0 (off).
    /// </summary>
    public int StaleIfErrorSeconds { get; set; }

    /// <summary>Only these query parameters form the key; <see langword="null"/> (default) means the whole query.</summary>
    public string[]? VaryByQuery { get; set; }

    /// <summary>
    /// Request headers added to the key, on top of <see cref="RequestCoalescingOptions.VaryByHeaders"/> (see
    /// <see cref="CoalescingPolicyBuilder.VaryByHeader"/>): requests that differ in one of them never share a response.
    /// Default: <see langword="null"/> (none).
    /// </summary>
    public string[]? VaryByHeader { get; set; }

    /// <summary>
    /// Route values added to the key (see <see cref="CoalescingPolicyBuilder.VaryByRouteValue"/>): requests that differ
    /// in one of them never share a response, even on the same path, as when a middleware or a dynamic route sets a
    /// value such as a tenant. Values that come from the path are already keyed by the path. Default:
    /// <see langword="null"/> (none).
    /// </summary>
    public string[]? VaryByRouteValue { get; set; }

    /// <summary>
    /// Whether this action's key includes the caller's identity (see <see cref="CoalescingPolicyBuilder.VaryByIdentity"/>):
    /// <c>[Coalesce(VaryByIdentity = false)]</c> lets callers with different identities share, for responses that
    /// never depend on who asks; <c>[Coalesce(VaryByIdentity = true)]</c> keys identity even when the app turned
    /// <see cref="RequestCoalescingOptions.VaryByIdentity"/> off. Left unset, the app's
    /// <see cref="RequestCoalescingOptions.VaryByIdentity"/> applies; reading the property then gives
    /// <see langword="true"/>, that option's default (as <c>ResponseCacheAttribute.NoStore</c> reads when unset).
    /// Default: unset.
    /// </summary>
    public bool VaryByIdentity
    {
        get => _varyByIdentity ?? true;
        set => _varyByIdentity = value;
    }

    /// <summary>Tags for memoized responses; may name route values in braces, such as <c>product:{id}</c>.</summary>
    public string[]? Tags { get; set; }

    /// <summary>When positive, how long followers wait for a leader, in milliseconds. Default: 0 (the app's setting).</summary>
    public int WaitTimeoutMilliseconds { get; set; }

    internal CoalescingPolicy Policy => _policy ??= BuildPolicy();

    /// <summary>Whether any setting besides <see cref="PolicyName"/> is set.</summary>
    internal bool HasInlineSettings => MemoizeSeconds > 0 || StaleWhileRevalidateSeconds > 0 || StaleIfErrorSeconds > 0 || VaryByQuery is not null || VaryByHeader is not null ||
                                       VaryByRouteValue is not null || _varyByIdentity is not null || Tags is not null || WaitTimeoutMilliseconds > 0;

    /// <exception cref="InvalidOperationException">A setting is not valid (such as an empty header name), or a stale window is set without <see cref="MemoizeSeconds"/>.</exception>
    private CoalescingPolicy BuildPolicy()
    {
        try
        {
            return BuildPolicy(new CoalescingPolicyBuilder());
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException(ex.Message, ex);
        }
    }

    private CoalescingPolicy BuildPolicy(CoalescingPolicyBuilder builder)
    {
        if (MemoizeSeconds > 0)
        {
            builder.Memoize(TimeSpan.FromSeconds(MemoizeSeconds));
        }

        if (StaleWhileRevalidateSeconds > 0)
        {
            builder.StaleWhileRevalidate(TimeSpan.FromSeconds(StaleWhileRevalidateSeconds));
        }

        if (StaleIfErrorSeconds > 0)
        {
            builder.StaleIfError(TimeSpan.FromSeconds(StaleIfErrorSeconds));
        }

        if (VaryByQuery is not null)
        {
            builder.VaryByQuery(VaryByQuery);
        }

        if (VaryByHeader is not null)
        {
            builder.VaryByHeader(VaryByHeader);
        }

        if (VaryByRouteValue is not null)
        {
            builder.VaryByRouteValue(VaryByRouteValue);
        }

        if (_varyByIdentity is { } varyByIdentity)
        {
            builder.VaryByIdentity(varyByIdentity);
        }

        if (Tags is not null)
        {
            builder.Tag(Tags);
        }

        if (WaitTimeoutMilliseconds > 0)
        {
            builder.WaitTimeout(TimeSpan.FromMilliseconds(WaitTimeoutMilliseconds));
        }

        return builder.Build();
    }
}
