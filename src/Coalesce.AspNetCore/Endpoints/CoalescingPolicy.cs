using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore;

/// <summary>An endpoint's coalescing settings, built once by <see cref="CoalescingPolicyBuilder"/> and read per request.</summary>
internal sealed class CoalescingPolicy
{
    public static readonly CoalescingPolicy Default = new();

    /// <summary>Only these query keys form the key; <see langword="null"/> means the whole query.</summary>
    public string[]? VaryByQueryKeys { get; init; }

    public string[] VaryByHeaders { get; init; } = [];

    public string[] VaryByRouteValues { get; init; } = [];

    public Func<HttpContext, string>? KeyFunction { get; init; }

    public bool? VaryByIdentity { get; init; }

    public TimeSpan? MemoizeTtl { get; init; }

    /// <summary>How long past its time to live a memoized response is served while one refresh runs; zero for never.</summary>
    public TimeSpan StaleWhileRevalidate { get; init; }

    /// <summary>How long past its time to live a memoized response stands in for a failure; zero for never.</summary>
    public TimeSpan StaleIfError { get; init; }

    /// <summary>Whether memoized responses outlive their time to live in a stale window.</summary>
    public bool HasStaleWindows => StaleWhileRevalidate > TimeSpan.Zero || StaleIfError > TimeSpan.Zero;

    public TagTemplate[] Tags { get; init; } = [];

    public Func<HttpContext, string>[] TagFunctions { get; init; } = [];

    public TimeSpan? WaitTimeout { get; init; }

    /// <summary>Whether responses of this policy carry tags.</summary>
    public bool HasTags => Tags.Length > 0 || TagFunctions.Length > 0;

    public string[] ResolveTags(HttpContext context)
    {
        var tags = new string[Tags.Length + TagFunctions.Length];
        for (var i = 0; i < Tags.Length; i++)
        {
            tags[i] = Tags[i].Resolve(context);
        }

        for (var i = 0; i < TagFunctions.Length; i++)
        {
            var tag = TagFunctions[i](context);
            if (string.IsNullOrEmpty(tag))
            {
                throw new InvalidOperationException(
                    $"A tag function of the coalescing policy returned null or an empty tag for '{context.Request.Path}'.");
            }

            tags[Tags.Length + i] = tag;
        }

        return tags;
    }
}
