using System.Diagnostics;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Finds <c>redis-server</c>, installing the Debian package <c>redis-server</c> once when it is missing and the
/// tests run as root. Under <c>CI=true</c> a missing server fails the tests instead of skipping them.
/// </summary>
internal static class RedisServerInstaller
{
    public const string DebianPackage = "redis-server";

    private static readonly Lazy<string?> Path = new(FindOrInstall, LazyThreadSafetyMode.ExecutionAndPublication);

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The server's path, or <see langword="null"/> when it is missing and could not be installed.</summary>
    public static string? ServerPath => Path.Value;

    public static string MissingMessage =>
        $"redis-server is not installed and could not be installed here; install the Debian package '{DebianPackage}' (apt-get install -y --no-install-recommends {DebianPackage}).";

    private static string? FindOrInstall()
    {
        if (Find() is { } found)
        {
            return found;
        }

        if (OperatingSystem.IsLinux() && Environment.UserName == "root" && File.Exists("/usr/bin/apt-get"))
        {
            // --no-install-recommends; if the package starts its own service on 6379 that is harmless: tests use their own ports.
            Run("apt-get", "update -qq");
            Run("apt-get", $"install -y -qq --no-install-recommends {DebianPackage}");
        }

        return Find();
    }

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator).Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = System.IO.Path.Combine(dir, "redis-server");
            if (dir.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static void Run(string file, string arguments)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
        }
    }
}
