namespace Coalesce.AspNetCore;

/// <summary>
/// Endpoint metadata naming a policy added with <see cref="RequestCoalescingOptions.AddPolicy(string, Action{CoalescingPolicyBuilder})"/>;
/// resolved from the app's options once per endpoint, when the middleware first sees it.
/// </summary>
internal sealed class NamedCoalescingPolicy(string name)
{
    public string Name { get; } = name;
}
