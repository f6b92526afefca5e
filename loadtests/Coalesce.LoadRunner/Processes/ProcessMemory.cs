using System.Globalization;

namespace Coalesce.LoadRunner.Processes;

/// <summary>
/// A process's resident memory from <c>/proc/&lt;pid&gt;/status</c>: <c>VmRSS</c> now and <c>VmHWM</c>, its peak.
/// The peak is reset to the current size by writing <c>5</c> to <c>/proc/&lt;pid&gt;/clear_refs</c> (Linux 4.0 and
/// later, for a process of the same user), so each round reads its own peak.
/// </summary>
internal static class ProcessMemory
{
    public static ResidentMemory Read(int processId) => Parse(File.ReadAllText($"/proc/{processId}/status"));

    /// <summary>Resets the peak to the current size; false when the kernel does not allow it (the peak is then the process's so far).</summary>
    public static bool TryResetPeak(int processId)
    {
        try
        {
            File.WriteAllText($"/proc/{processId}/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The <c>VmRSS</c> and <c>VmHWM</c> lines of a <c>/proc/&lt;pid&gt;/status</c> text (in kB there), in bytes.</summary>
    public static ResidentMemory Parse(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        long? rss = null, peak = null;
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kilobytes(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kilobytes(line);
            }
        }

        return rss is { } r && peak is { } p
            ? new ResidentMemory(r * 1024, p * 1024)
            : throw new FormatException("a /proc/<pid>/status text without VmRSS and VmHWM lines.");
    }

    private static long Kilobytes(string line)
    {
        var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new FormatException($"not a /proc/<pid>/status memory line: '{line}'.");
    }
}

/// <summary>Resident memory now and at its peak, in bytes.</summary>
internal readonly record struct ResidentMemory(long RssBytes, long PeakBytes);
