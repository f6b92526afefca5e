using System.Diagnostics;

namespace Coalesce.AspNetCore.Tests.Diagnostics.Browser;

/// <summary>
/// Finds Debian's <c>chromium</c>, installing the package once when it is missing and the tests run as root (as
/// <c>.ci/run</c> does): <c>apt-get install</c> first, <c>apt-get update</c> only when that fails. A browser test never
/// skips: without a browser it fails and says how to install one.
/// </summary>
internal static class ChromiumInstaller
{
    public const string DebianPackage = "chromium";

    private static readonly Lazy<string?> Path = new(FindOrInstall, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The browser's path; throws, saying how to install it, when it is missing and could not be installed.</summary>
    public static string BrowserPath => Path.Value ?? throw new InvalidOperationException(
        $"chromium is not installed and could not be installed here (that needs root and apt-get); install the Debian package '{DebianPackage}' (apt-get install -y --no-install-recommends {DebianPackage}).");

    private static string? FindOrInstall()
    {
        if (Find() is { } found)
        {
            return found;
        }

        if (OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get"))
        {
            // Another process may hold the package lock for a while (an unattended upgrade, a parallel install): wait for it.
            const string Install = $"-o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends {DebianPackage}";
            if (Run("apt-get", Install) != 0 || Find() is null)
            {
                Run("apt-get", "-o DPkg::Lock::Timeout=300 update -qq");
                Run("apt-get", Install);
            }
        }

        return Find();
    }

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator).Append("/usr/bin"))
        {
            foreach (var name in new[] { "chromium", "chromium-browser" })
            {
                var candidate = System.IO.Path.Combine(dir, name);
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
