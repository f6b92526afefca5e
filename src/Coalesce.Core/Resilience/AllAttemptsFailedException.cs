using System.Globalization;
using System.Text;

namespace Coalesce;

/// <summary>
/// Thrown when every attempt of a resilient call failed: every retry, and within each retry every fallback
/// value. <see cref="Errors"/> holds each failed invocation's exception, in the order they happened.
/// </summary>
public sealed class AllAttemptsFailedException : Exception
{
    private const int ErrorsInMessage = 5;

    /// <summary>Creates the exception from the errors of every failed attempt, in order.</summary>
    /// <param name="errors">Every attempt's exception, oldest first. Must not be empty.</param>
    public AllAttemptsFailedException(IReadOnlyList<Exception> errors)
        : base(Describe(errors), errors is { Count: > 0 } ? errors[^1] : null)
    {
        Errors = errors;
    }

    /// <summary>Creates the exception with a message of your own and no recorded errors.</summary>
    public AllAttemptsFailedException()
        : this("All attempts failed.")
    {
    }

    /// <summary>Creates the exception with a message of your own and no recorded errors.</summary>
    /// <param name="message">The message.</param>
    public AllAttemptsFailedException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates the exception with a message of your own; the inner exception is the only error.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The single failed attempt.</param>
    public AllAttemptsFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = innerException is null ? [] : [innerException];
    }

    /// <summary>Every failed attempt's exception, oldest first. The last one is also <see cref="Exception.InnerException"/>.</summary>
    public IReadOnlyList<Exception> Errors { get; }

    /// <summary>How many attempts were made (one per recorded error).</summary>
    public int AttemptCount => Errors.Count;

    /// <summary>"All n attempts failed: [1] Type: message …", listing the first few errors.</summary>
    internal static string Describe(IReadOnlyList<Exception> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (errors.Count == 0)
        {
            throw new ArgumentException("At least one error is required.", nameof(errors));
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"All {errors.Count} attempts failed:");
        for (var i = 0; i < Math.Min(errors.Count, ErrorsInMessage); i++)
        {
            text.Append(CultureInfo.InvariantCulture, $" [{i + 1}] {errors[i].GetType().Name}: {errors[i].Message}");
        }

        if (errors.Count > ErrorsInMessage)
        {
            text.Append(CultureInfo.InvariantCulture, $" … and {errors.Count - ErrorsInMessage} more (see Errors).");
        }

        return text.ToString();
    }
}
