using System.Diagnostics;
using System.Globalization;

namespace Coalesce.LoadRunner.Report;

/// <summary>The machine a report was measured on, and when and from which commit, so its figures can be placed.</summary>
internal sealed record MachineInfo(
    string CpuModel,
    int LogicalCpus,
    string Memory,
    string OperatingSystem,
    string DotnetSdk,
    string LoadGenerator,
    string LoadAverageAtStart,
    string Commit,
    DateTimeOffset Started)
{
    public static async Task<MachineInfo> ReadAsync(string repositoryRoot)
    {
        var cpu = ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal)) is { } model
            ? model[(model.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()
            : "unknown";
        var memory = ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) is { } total
            && long.TryParse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture, out var kib)
            ? string.Create(CultureInfo.InvariantCulture, $"{kib / 1048576.0:0.0} GiB")
            : "unknown";
        var os = ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) is { } pretty
            ? pretty["PRETTY_NAME=".Length..].Trim('"')
            : "unknown";
        var kernel = await FirstLineAsync("uname", ["-sr"], repositoryRoot);
        var wrk = await FirstLineAsync("wrk", ["-v"], repositoryRoot);
        return new MachineInfo(
            cpu,
            Environment.ProcessorCount,
            memory,
            $"{os} ({kernel})",
            await FirstLineAsync("dotnet", ["--version"], repositoryRoot),
            string.Join(' ', wrk.Split(' ', StringSplitOptions.RemoveEmptyEntries).Take(2)),
            string.Join(' ', ReadLines("/proc/loadavg").FirstOrDefault("unknown").Split(' ').Take(3)),
            await FirstLineAsync("git", ["-C", repositoryRoot, "rev-parse", "--short", "HEAD"], repositoryRoot),
            DateTimeOffset.UtcNow);
    }

    private static string[] ReadLines(string path) => File.Exists(path) ? File.ReadAllLines(path) : [];

    /// <summary>The first line a tool prints (on either stream), or "unknown".</summary>
    internal static async Task<string> FirstLineAsync(string fileName, string[] arguments, string folder)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(fileName, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = folder,
            });
            if (process is null)
            {
                return "unknown";
            }

            using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var output = process.StandardOutput.ReadToEndAsync(bound.Token);
            var error = process.StandardError.ReadToEndAsync(bound.Token);
            await process.WaitForExitAsync(bound.Token);
            var text = (await output).Trim() is { Length: > 0 } o ? o : (await error).Trim();
            return text.Split('\n')[0].Trim() is { Length: > 0 } line ? line : "unknown";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or OperationCanceledException)
        {
            return "unknown";
        }
    }
}
