namespace Coalesce;

/// <summary>
/// Thrown when a rate-limited call cannot get a permit: the queue of callers waiting for one is full.
/// The call was not made. Its <see cref="Exception.InnerException"/> is Polly.RateLimiting's own
/// <c>RateLimiterRejectedException</c>.
/// </summary>
public sealed class RateLimitRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RateLimitRejectedException()
        : this("The rate limit rejected the call: no permit was available and the wait queue is full.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public RateLimitRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public RateLimitRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for the named limit, with the limiter's hint of when to try again.</summary>
    /// <param name="name">The name of the rate-limited function or client.</param>
    /// <param name="retryAfter">When a permit is expected, if the limiter knows.</param>
    public RateLimitRejectedException(string name, TimeSpan? retryAfter)
        : base(Describe(name, retryAfter))
    {
        RetryAfter = retryAfter;
    }

    /// <summary>Creates the exception for the named limit from the rate limiter's own rejection.</summary>
    /// <param name="name">The name of the rate-limited function or client.</param>
    /// <param name="retryAfter">When a permit is expected, if the limiter knows.</param>
    /// <param name="innerException">The rate limiter strategy's rejection.</param>
    internal RateLimitRejectedException(string name, TimeSpan? retryAfter, Exception innerException)
        : base(Describe(name, retryAfter), innerException)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>When a permit is expected to be available, if known; otherwise <see langword="null"/>.</summary>
    public TimeSpan? RetryAfter { get; }

    private static string Describe(string name, TimeSpan? retryAfter) => retryAfter is { } after
        ? $"The rate limit of '{name}' rejected the call: the wait queue is full. Retry after {after}."
        : $"The rate limit of '{name}' rejected the call: the wait queue is full.";
}
