namespace Coalesce.AspNetCore;

/// <summary>
/// Opts an endpoint, controller or action out of request coalescing and memoization. The same type is the
/// endpoint metadata that <c>DisableCoalescing()</c> adds.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = false, Inherited = true)]
public sealed class DisableCoalescingAttribute : Attribute
{
    internal static readonly DisableCoalescingAttribute Instance = new();
}
