namespace Coalesce.LoadRunner;

/// <summary>
/// A failure the runner explains in one sentence (a tool missing, an app that did not start, a wrk that failed): the
/// run stops with the message, without a stack trace, after stopping everything it started.
/// </summary>
internal sealed class RunnerException : Exception
{
    public RunnerException()
    {
    }

    public RunnerException(string message)
        : base(message)
    {
    }

    public RunnerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
