namespace Coalesce.AspNetCore;

/// <summary>
/// Endpoint metadata naming an idempotency policy added with
/// <see cref="RequestCoalescingOptions.AddIdempotencyPolicy(string, Action{IdempotencyPolicyBuilder})"/>; resolved once per endpoint.
/// </summary>
internal sealed class NamedIdempotencyPolicy(string name)
{
    public string Name { get; } = name;
}
