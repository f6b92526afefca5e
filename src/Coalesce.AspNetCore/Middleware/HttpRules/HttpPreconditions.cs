using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// Evaluates a request's validators against a stored response's <c>ETag</c> and <c>Last-Modified</c>, the way
/// ASP.NET's own file results do (RFC 9110, section 13): <c>If-Match</c> compares strongly and
/// <c>If-None-Match</c> weakly, <c>*</c> matches any tag, a date in the future is ignored, and when several
/// validators disagree the strictest outcome wins (412 over 200 over 304).
/// </summary>
internal static class HttpPreconditions
{
    /// <summary>Ordered so that the strictest outcome is the largest.</summary>
    public enum Result
    {
        Unspecified,
        NotModified,
        ShouldProcess,
        PreconditionFailed,
    }

    /// <summary>Whether the request carries any validator this class evaluates.</summary>
    public static bool IsConditional(IHeaderDictionary headers) =>
        headers.IfNoneMatch.Count > 0 || headers.IfModifiedSince.Count > 0 ||
        headers.IfMatch.Count > 0 || headers.IfUnmodifiedSince.Count > 0;

    public static Result Evaluate(IHeaderDictionary headers, EntityTagHeaderValue? etag, DateTimeOffset? lastModified, DateTimeOffset now)
    {
        if (!IsConditional(headers))
        {
            return Result.Unspecified;
        }

        var ifMatch = Result.Unspecified;
        if (etag is not null && headers.IfMatch.Count > 0)
        {
            ifMatch = Matches(headers.IfMatch, etag, strong: true) ? Result.ShouldProcess : Result.PreconditionFailed;
        }

        var ifNoneMatch = Result.Unspecified;
        if (etag is not null && headers.IfNoneMatch.Count > 0)
        {
            ifNoneMatch = Matches(headers.IfNoneMatch, etag, strong: false) ? Result.NotModified : Result.ShouldProcess;
        }

        var ifModifiedSince = Result.Unspecified;
        if (lastModified is { } modified && TryParseDate(headers.IfModifiedSince, out var since) && since <= now)
        {
            ifModifiedSince = since < modified ? Result.ShouldProcess : Result.NotModified;
        }

        var ifUnmodifiedSince = Result.Unspecified;
        if (lastModified is { } unmodified && TryParseDate(headers.IfUnmodifiedSince, out var until) && until <= now)
        {
            ifUnmodifiedSince = until >= unmodified ? Result.ShouldProcess : Result.PreconditionFailed;
        }

        return (Result)Math.Max(Math.Max((int)ifMatch, (int)ifNoneMatch), Math.Max((int)ifModifiedSince, (int)ifUnmodifiedSince));
    }

    private static bool Matches(StringValues header, EntityTagHeaderValue etag, bool strong)
    {
        if (!EntityTagHeaderValue.TryParseList(header, out var tags))
        {
            return false;
        }

        foreach (var tag in tags)
        {
            if (tag.Equals(EntityTagHeaderValue.Any) || tag.Compare(etag, useStrongComparison: strong))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseDate(StringValues header, out DateTimeOffset date)
    {
        date = default;
        return header.Count == 1 && HeaderUtilities.TryParseDate(header.ToString(), out date);
    }
}
