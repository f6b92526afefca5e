using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

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

    public TagTemplate[] Tags { get; init; } = [];

    public Func<HttpContext, string>[] TagFunctions { get; init; } = [];

    public TimeSpan? WaitTimeout { get; init; }

    public void EnsureValidFor(EndpointBuilder endpoint)
    {
        foreach (var tag in Tags)
        {
            tag.EnsureRouteHasValues(endpoint);
        }
    }

    public List<string> ResolveTags(HttpContext context)
    {
        var tags = new List<string>(Tags.Length + TagFunctions.Length);
        foreach (var tag in Tags)
        {
            tags.Add(tag.Resolve(context));
        }

        foreach (var function in TagFunctions)
        {
            var tag = function(context);
            if (string.IsNullOrEmpty(tag))
            {
                throw new InvalidOperationException(
                    $"A tag function of the coalescing policy returned null or an empty tag for '{context.Request.Path}'.");
            }

            tags.Add(tag);
        }

        return tags;
    }
}
