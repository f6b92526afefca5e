using System.Globalization;
using System.Text;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// A list of tags as one string, each written as <c>length:tag</c>, so a tag may hold any character (spaces,
/// colons, new lines) and the encoding of a sorted list is canonical: two equal sets encode the same.
/// </summary>
internal static class TagList
{
    public static string[] Canonical(IEnumerable<string> tags)
    {
        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            ArgumentNullException.ThrowIfNull(tag, nameof(tags));
            set.Add(tag);
        }

        return [.. set];
    }

    public static string Encode(IReadOnlyList<string> tags)
    {
        var builder = new StringBuilder();
        foreach (var tag in tags)
        {
            builder.Append(tag.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(tag);
        }

        return builder.ToString();
    }

    public static bool TryDecode(ReadOnlySpan<char> encoded, out List<string> tags)
    {
        tags = [];
        while (!encoded.IsEmpty)
        {
            var colon = encoded.IndexOf(':');
            if (colon <= 0
                || !int.TryParse(encoded[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var length)
                || length > encoded.Length - colon - 1)
            {
                return false;
            }

            tags.Add(encoded.Slice(colon + 1, length).ToString());
            encoded = encoded[(colon + 1 + length)..];
        }

        return true;
    }
}
