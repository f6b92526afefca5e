using System.Net;

namespace Coalesce.AspNetCore;

/// <summary>
/// The <see cref="HttpRequestException"/> a coalescing HttpClient throws when every attempt failed with a transport
/// error or a timeout: every retry, and within each retry every base address. <see cref="Errors"/> holds each
/// attempt's error in the order they happened (a response with a failing status that was passed over appears as an
/// <see cref="HttpRequestException"/> with its <see cref="HttpRequestException.StatusCode"/>). The last error is the
/// <see cref="Exception.InnerException"/>, and its <see cref="HttpRequestException.HttpRequestError"/> and
/// <see cref="HttpRequestException.StatusCode"/> are this exception's, so existing <c>catch (HttpRequestException)</c>
/// code keeps working.
/// </summary>
public sealed class HttpAllAttemptsFailedException : HttpRequestException
{
    /// <summary>Creates the exception from the errors of every failed attempt, in order.</summary>
    /// <param name="errors">Every attempt's error, oldest first. Must not be empty.</param>
    public HttpAllAttemptsFailedException(IReadOnlyList<Exception> errors)
        : base(RequestError(errors), AllAttemptsFailedException.Describe(errors), errors[^1], (errors[^1] as HttpRequestException)?.StatusCode)
    {
        Errors = errors;
    }

    /// <summary>Creates the exception with a message of your own and no recorded errors.</summary>
    public HttpAllAttemptsFailedException()
        : this("All attempts failed.")
    {
    }

    /// <summary>Creates the exception with a message of your own and no recorded errors.</summary>
    /// <param name="message">The message.</param>
    public HttpAllAttemptsFailedException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates the exception with a message of your own; the inner exception is the only error.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The single failed attempt.</param>
    public HttpAllAttemptsFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = innerException is null ? [] : [innerException];
    }

    /// <summary>Every failed attempt's error, oldest first. The last one is also <see cref="Exception.InnerException"/>.</summary>
    public IReadOnlyList<Exception> Errors { get; }

    /// <summary>How many attempts failed (one per recorded error).</summary>
    public int AttemptCount => Errors.Count;

    private static HttpRequestError RequestError(IReadOnlyList<Exception> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count == 0)
        {
            throw new ArgumentException("At least one error is required.", nameof(errors));
        }

        return errors[^1] is HttpRequestException last ? last.HttpRequestError : HttpRequestError.Unknown;
    }

    /// <summary>The error recorded for an attempt whose response had a failing status and was passed over.</summary>
    internal static HttpRequestException FailedStatus(HttpResponseMessage response) => new(
        HttpRequestError.Unknown,
        $"Response status code {(int)response.StatusCode} ({response.StatusCode}) from {response.RequestMessage?.RequestUri?.GetLeftPart(UriPartial.Path) ?? "(no URI)"} failed the attempt.",
        inner: null,
        (HttpStatusCode?)response.StatusCode);
}
