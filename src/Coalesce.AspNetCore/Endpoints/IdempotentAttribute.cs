namespace Coalesce.AspNetCore;

/// <summary>
/// Makes an MVC action (or every unsafe action of a controller) answer retries with an idempotency key, the attribute
/// form of <c>WithIdempotency(...)</c>. A replay is written by the middleware as the bytes first sent, never
/// through MVC's formatters, so content negotiation cannot turn it into a 406.
/// </summary>
/// <example>
/// <code>
/// [HttpPost("orders")]
/// [Idempotent(RequireKey = true, KeepForSeconds = 3600)]
/// public IActionResult Place(Order order) => ...;
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class IdempotentAttribute : Attribute
{
    /// <summary>
    /// The name of a policy added with <see cref="RequestCoalescingOptions.AddIdempotencyPolicy(string, Action{IdempotencyPolicyBuilder})"/>
    /// or configured under <c>IdempotencyPolicies:{name}</c>, used instead of this attribute's other settings (setting
    /// both stops the app at start-up). Default: <see langword="null"/>.
    /// </summary>
    public string? PolicyName { get; set; }

    /// <summary>See <see cref="IdempotencyPolicyBuilder.RequireKey"/>. Default: <see langword="false"/>.</summary>
    public bool RequireKey { get; set; }

    /// <summary>
    /// When positive, how long an outcome is kept, in seconds (see <see cref="IdempotencyPolicyBuilder.KeepFor"/>).
    /// Default: 0 (24 hours). A negative value stops the app at start-up.
    /// </summary>
    public int KeepForSeconds { get; set; }

    /// <summary>See <see cref="IdempotencyPolicyBuilder.WaitForDuplicates"/>. Default: <see langword="false"/> (409).</summary>
    public bool WaitForDuplicates { get; set; }

    /// <summary>The key's header (see <see cref="IdempotencyPolicyBuilder.HeaderName"/>). Default: <c>Idempotency-Key</c>.</summary>
    public string? HeaderName { get; set; }

    /// <summary>Which outcomes are kept (see <see cref="IdempotencyPolicyBuilder.KeepOutcomes"/>). Default: 2xx and 4xx.</summary>
    public IdempotencyOutcomes KeepOutcomes { get; set; } = IdempotencyOutcomes.Default;

    /// <summary>Whether any setting besides <see cref="PolicyName"/> is set.</summary>
    internal bool HasInlineSettings => RequireKey || KeepForSeconds != 0 || WaitForDuplicates || HeaderName is not null ||
                                       KeepOutcomes != IdempotencyOutcomes.Default;

    /// <exception cref="InvalidOperationException">A setting is not valid.</exception>
    internal IdempotencyPolicy BuildPolicy()
    {
        try
        {
            var builder = new IdempotencyPolicyBuilder();
            if (RequireKey)
            {
                builder.RequireKey();
            }

            if (KeepForSeconds != 0)
            {
                builder.KeepFor(TimeSpan.FromSeconds(KeepForSeconds));
            }

            if (WaitForDuplicates)
            {
                builder.WaitForDuplicates();
            }

            if (HeaderName is not null)
            {
                builder.HeaderName(HeaderName);
            }

            return builder.KeepOutcomes(KeepOutcomes).Build();
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException(ex.Message, ex);
        }
    }
}
