namespace Coalesce;

/// <summary>Which calls share one rate limit; see <see cref="ResilienceOptions.RateLimitScope"/>.</summary>
public enum RateLimitScope
{
    /// <summary>Each wrapped function has its own limit (the default).</summary>
    PerFunction = 0,

    /// <summary>
    /// Every function wrapped with the same <see cref="ResilienceOptions.RateLimitName"/> and the same
    /// <see cref="ResilienceOptions.RateLimitRegistry"/> shares one limit, owned by that registry.
    /// </summary>
    Global = 1,

    /// <summary>Each distinct argument (by the wrapper's key function) has its own limit.</summary>
    PerArgument = 2,
}
