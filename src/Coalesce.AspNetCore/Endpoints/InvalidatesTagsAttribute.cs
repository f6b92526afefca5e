namespace Coalesce.AspNetCore;

/// <summary>
/// Marks a (typically mutating) endpoint whose successful (2xx) response evicts the memoized responses carrying
/// these tags, before the response is sent, so a client that sees the 2xx reads fresh data at once. Tags may
/// name route values in braces, such as <c>product:{id}</c>. The same type is the endpoint metadata that
/// <c>InvalidatesTags(...)</c> adds.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, AllowMultiple = true, Inherited = true)]
public sealed class InvalidatesTagsAttribute : Attribute
{
    /// <summary>Creates the marker.</summary>
    /// <param name="tags">The tags to evict; at least one.</param>
    public InvalidatesTagsAttribute(params string[] tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        if (tags.Length == 0)
        {
            throw new ArgumentException("Name at least one tag to invalidate.", nameof(tags));
        }

        Templates = [.. tags.Select(tag => TagTemplate.Parse(tag, nameof(tags)))];
    }

    /// <summary>The tags as written.</summary>
    public IReadOnlyList<string> Tags => [.. Templates.Select(t => t.Text)];

    internal TagTemplate[] Templates { get; }
}
