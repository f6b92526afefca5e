using Coalesce.AspNetCore;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// How an <see cref="InvalidationItem"/> travels in invalidation messages and the log (format <c>v2</c>): one kind
/// character, then the tag, key or pattern as given (any characters; the list around it is length-prefixed by
/// <see cref="TagList"/>). <c>t</c> a tag, <c>k</c> a key, <c>p</c> a glob pattern, <c>a</c> everything.
/// </summary>
internal static class InvalidationWire
{
    public static string Encode(InvalidationItem item) => item.Kind switch
    {
        InvalidationKind.Tag => "t" + item.Value,
        InvalidationKind.Key => "k" + item.Value,
        InvalidationKind.Pattern => "p" + item.Value,
        _ => "a",
    };

    /// <summary>Reads an item; <see langword="false"/> for a kind this version does not know.</summary>
    public static bool TryDecode(string encoded, out InvalidationItem item)
    {
        item = default;
        if (encoded.Length == 0)
        {
            return false;
        }

        var value = encoded[1..];
        switch (encoded[0])
        {
            case 't':
                item = new(InvalidationKind.Tag, value);
                return true;
            case 'k':
                item = new(InvalidationKind.Key, value);
                return true;
            case 'p':
                item = new(InvalidationKind.Pattern, value);
                return true;
            case 'a' when value.Length == 0:
                item = InvalidationItem.All;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Reads every item; <see langword="null"/> when one is of a kind this version does not know.</summary>
    public static InvalidationItem[]? TryDecodeAll(IReadOnlyCollection<string> encoded)
    {
        var items = new InvalidationItem[encoded.Count];
        var i = 0;
        foreach (var one in encoded)
        {
            if (!TryDecode(one, out items[i++]))
            {
                return null;
            }
        }

        return items;
    }

    /// <summary>For log messages: tags by name, keys and patterns by kind only (they can carry user data).</summary>
    public static string Describe(IEnumerable<string> encoded) =>
        string.Join(", ", encoded.Select(static e => e.Length == 0 ? "?" : e[0] switch
        {
            't' => e[1..],
            'k' => "(a key)",
            'p' => "(a pattern)",
            'a' => "(everything)",
            _ => "?",
        }));
}
