using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>Keeps every log entry of one node, so tests can check that a decision was logged.</summary>
internal sealed class LogSink : ILoggerProvider
{
    public ConcurrentQueue<(int EventId, LogLevel Level, string Message, Exception? Exception)> Entries { get; } = new();

    public bool Has(int eventId) => Entries.Any(e => e.EventId == eventId);

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue((eventId.Id, logLevel, formatter(state, exception), exception));
    }
}
