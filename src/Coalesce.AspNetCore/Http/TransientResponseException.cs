using System.Net;

namespace Coalesce.AspNetCore;

/// <summary>
/// A response whose status fails an attempt (one of <see cref="HttpRetryOptions.StatusCodes"/>), turned into an
/// error so fallback and retry treat it like a network failure. The response itself is disposed at once.
/// </summary>
internal sealed class TransientResponseException : HttpRequestException
{
    public TransientResponseException(HttpStatusCode statusCode, Uri? requestUri, TimeSpan? retryAfter)
        : base(
            $"Response status code {(int)statusCode} ({statusCode}) from {requestUri?.GetLeftPart(UriPartial.Path) ?? "(no URI)"} fails the attempt.",
            inner: null,
            statusCode)
    {
        RetryAfter = retryAfter;
    }

    public TransientResponseException()
    {
    }

    public TransientResponseException(string message)
        : base(message)
    {
    }

    public TransientResponseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The delay the upstream asked for with <c>Retry-After</c>, if any.</summary>
    public TimeSpan? RetryAfter { get; }
}
