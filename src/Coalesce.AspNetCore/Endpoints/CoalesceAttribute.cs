namespace Coalesce.AspNetCore;

/// <summary>
/// Coalesces an MVC controller or action, the attribute form of <c>WithCoalescing(...)</c>: needed when
/// <see cref="RequestCoalescingOptions.CoalesceAllGetRequests"/> is off, or to memoize and tag.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class CoalesceAttribute : Attribute
{
    private CoalescingPolicy? _policy;

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

    /// <summary>Request headers added to the key.</summary>
    public string[]? VaryByHeader { get; set; }

    /// <summary>Tags for memoized responses; may name route values in braces, such as <c>product:{id}</c>.</summary>
    public string[]? Tags { get; set; }

    /// <summary>When positive, how long followers wait for a leader, in milliseconds. Default: 0 (the app's setting).</summary>
    public int WaitTimeoutMilliseconds { get; set; }

    internal CoalescingPolicy Policy => _policy ??= BuildPolicy();

    /// <summary>Whether any setting besides <see cref="PolicyName"/> is set.</summary>
    internal bool HasInlineSettings => MemoizeSeconds > 0 || StaleWhileRevalidateSeconds > 0 || StaleIfErrorSeconds > 0 || VaryByQuery is not null || VaryByHeader is not null ||
                                       Tags is not null || WaitTimeoutMilliseconds > 0;

    private CoalescingPolicy BuildPolicy()
    {
        var builder = new CoalescingPolicyBuilder();
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
