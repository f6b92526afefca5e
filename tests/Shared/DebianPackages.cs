using System.Diagnostics;

namespace Coalesce.Testing;

/// <summary>
/// Finds a program the tests need (<c>redis-server</c>, <c>chromium</c>) and installs its Debian package once when it is
/// missing and the tests run as root (as <c>.ci/run</c> does): <c>apt-get install</c> first, <c>apt-get update</c> and
/// again only when that fails, waiting for the package lock another process may hold.
/// </summary>
internal static class DebianPackages
{
    /// <summary>The path of the first of <paramref name="programs"/> found, installing <paramref name="package"/> if none is.</summary>
    /// <param name="package">The Debian package that provides the programs.</param>
    /// <param name="programs">The executable names to look for, in order.</param>
    /// <returns>The program's path, or <see langword="null"/> when it is missing and could not be installed.</returns>
    public static string? FindOrInstall(string package, params string[] programs)
    {
        if (Find(programs) is { } found)
        {
            return found;
        }

        if (OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get"))
        {
            var install = $"-o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends {package}";
            if (Run("apt-get", install) != 0 || Find(programs) is null)
            {
                Run("apt-get", "-o DPkg::Lock::Timeout=300 update -qq");
                Run("apt-get", install);
            }
        }

        return Find(programs);
    }

    /// <summary>How to install <paramref name="package"/> by hand, for the message of a test that cannot run without it.</summary>
    public static string HowToInstall(string program, string package) =>
        $"{program} is not installed and could not be installed here (that needs root and apt-get); install the Debian package '{package}' (apt-get install -y --no-install-recommends {package}).";

    private static string? Find(string[] programs)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Append("/usr/bin").Append("/usr/sbin"))
        {
            foreach (var name in programs)
            {
                var candidate = Path.Combine(dir, name);
                if (dir.Length > 0 && File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static int Run(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            return -1;
        }

        return process.ExitCode;
    }
}
