using Coalesce.Testing;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Finds <c>redis-server</c>, installing the Debian package <c>redis-server</c> once when it is missing and the
/// tests run as root (if the package starts its own service on 6379 that is harmless: tests use their own ports). Under
/// <c>CI=true</c> a missing server fails the tests instead of skipping them.
/// </summary>
internal static class RedisServerInstaller
{
    public const string DebianPackage = "redis-server";

    private static readonly Lazy<string?> Path = new(
        () => DebianPackages.FindOrInstall(DebianPackage, "redis-server"), LazyThreadSafetyMode.ExecutionAndPublication);

    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The server's path, or <see langword="null"/> when it is missing and could not be installed.</summary>
    public static string? ServerPath => Path.Value;

    public static string MissingMessage => DebianPackages.HowToInstall("redis-server", DebianPackage);
}
