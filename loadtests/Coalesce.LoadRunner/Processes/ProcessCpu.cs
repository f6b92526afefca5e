using System.Diagnostics;
using System.Globalization;

namespace Coalesce.LoadRunner.Processes;

/// <summary>
/// A process's user + system CPU time so far, from <c>/proc/&lt;pid&gt;/stat</c> (utime and stime, fields 14 and 15,
/// in clock ticks). The difference over a measured run, divided by its requests, is the app's CPU per request: steadier
/// than requests per second when other work shares the machine, and what a one-CPU container pays.
/// </summary>
internal static class ProcessCpu
{
    private static readonly Lazy<int> TicksPerSecond = new(ReadTicksPerSecond);

    public static TimeSpan Read(int processId)
    {
        var stat = File.ReadAllText($"/proc/{processId}/stat");
        return TimeSpan.FromSeconds((double)ParseTicks(stat) / TicksPerSecond.Value);
    }

    /// <summary>utime + stime of a <c>/proc/&lt;pid&gt;/stat</c> line, in clock ticks.</summary>
    public static long ParseTicks(string stat)
    {
        ArgumentNullException.ThrowIfNull(stat);
        // The command name (field 2) is in parentheses and may hold spaces and parentheses: count from the last ')'.
        var end = stat.LastIndexOf(')');
        var fields = stat[(end + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // fields[0] is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
        if (end < 0 || fields.Length < 13)
        {
            throw new FormatException($"not a /proc/<pid>/stat line: '{stat}'.");
        }

        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static int ReadTicksPerSecond()
    {
        try
        {
            using var getconf = Process.Start(new ProcessStartInfo("getconf", ["CLK_TCK"]) { RedirectStandardOutput = true, UseShellExecute = false });
            var text = getconf?.StandardOutput.ReadToEnd().Trim();
            getconf?.WaitForExit(5000);
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Linux reports these times in USER_HZ, which is 100 on every architecture .NET runs on.
            return 100;
        }
    }
}
