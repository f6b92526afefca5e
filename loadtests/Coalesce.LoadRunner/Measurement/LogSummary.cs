using System.Text.RegularExpressions;

namespace Coalesce.LoadRunner.Measurement;

/// <summary>
/// What an app logged, from its console log: warnings (<c>warn:</c> lines), errors (<c>fail:</c> and <c>crit:</c>
/// lines), and the exception types the errors name (the first <c>SomethingException</c> in the three lines after each).
/// </summary>
internal sealed partial record LogSummary(long Warnings, long Errors, IReadOnlyDictionary<string, long> Exceptions)
{
    public static LogSummary Empty { get; } = new(0, 0, new Dictionary<string, long>());

    public long WarningsAndErrors => Warnings + Errors;

    public static LogSummary Of(string log)
    {
        ArgumentNullException.ThrowIfNull(log);
        long warnings = 0, errors = 0;
        var exceptions = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var linesToSearch = 0;
        foreach (var line in log.Split('\n'))
        {
            if (line.StartsWith("warn: ", StringComparison.Ordinal))
            {
                warnings++;
                linesToSearch = 0;
            }
            else if (line.StartsWith("fail: ", StringComparison.Ordinal) || line.StartsWith("crit: ", StringComparison.Ordinal))
            {
                errors++;
                linesToSearch = 3;
            }
            else if (linesToSearch > 0)
            {
                linesToSearch--;
                if (ExceptionName().Match(line) is { Success: true } match)
                {
                    exceptions[match.Value] = exceptions.GetValueOrDefault(match.Value) + 1;
                    linesToSearch = 0;
                }
            }
        }

        return new LogSummary(warnings, errors, exceptions);
    }

    public static LogSummary Sum(IEnumerable<LogSummary> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        var exceptions = new SortedDictionary<string, long>(StringComparer.Ordinal);
        long warnings = 0, errors = 0;
        foreach (var log in logs)
        {
            warnings += log.Warnings;
            errors += log.Errors;
            foreach (var (name, count) in log.Exceptions)
            {
                exceptions[name] = exceptions.GetValueOrDefault(name) + count;
            }
        }

        return new LogSummary(warnings, errors, exceptions);
    }

    [GeneratedRegex(@"[A-Za-z.]+Exception")]
    private static partial Regex ExceptionName();
}
