using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// Reads a request's <c>Range</c> (and <c>If-Range</c>) against a body of known length, the way ASP.NET's own
/// range processing does: one <c>bytes</c> range is served, several ranges or a malformed header are ignored (the
/// client gets the whole body), and an <c>If-Range</c> that no longer matches means the whole body.
/// </summary>
internal static class ByteRanges
{
    /// <summary>
    /// <see langword="false"/> when the request gets the whole body; otherwise <see langword="true"/> with the
    /// inclusive range to send, or <see langword="null"/> when the range cannot be satisfied (416).
    /// </summary>
    public static bool TryParse(IHeaderDictionary headers, long length, EntityTagHeaderValue? etag, DateTimeOffset? lastModified, out (long From, long To)? range)
    {
        range = null;
        var raw = headers.Range;
        if (raw.Count != 1 || raw[0] is not { } text || text.Contains(',', StringComparison.Ordinal) ||
            !RangeHeaderValue.TryParse(text, out var parsed) ||
            !string.Equals(parsed.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase) || parsed.Ranges.Count != 1)
        {
            return false;
        }

        if (headers.IfRange.Count > 0)
        {
            if (!RangeConditionHeaderValue.TryParse(headers.IfRange.ToString(), out var condition))
            {
                return false;
            }

            var stale = condition.LastModified is { } date
                ? lastModified is { } modified && modified > date
                : etag is not null && condition.EntityTag is { } tag && !tag.Compare(etag, useStrongComparison: true);
            if (stale)
            {
                return false;
            }
        }

        if (length == 0)
        {
            return true;
        }

        var item = parsed.Ranges.First();
        if (item.From is { } from)
        {
            if (from >= length)
            {
                return true;
            }

            range = (from, item.To is { } to && to < length ? to : length - 1);
            return true;
        }

        if (item.To is { } suffix && suffix > 0)
        {
            var bytes = Math.Min(suffix, length);
            range = (length - bytes, length - 1);
        }

        return true;
    }
}
