using Coalesce.Testing;

namespace Coalesce.AspNetCore.Tests.Diagnostics.Browser;

/// <summary>
/// Finds Debian's <c>chromium</c>, installing the package once when it is missing and the tests run as root (as
/// <c>.ci/run</c> does). A browser test never skips: without a browser it fails and says how to install one.
/// </summary>
internal static class ChromiumInstaller
{
    public const string DebianPackage = "chromium";

    private static readonly Lazy<string?> Path = new(
        () => DebianPackages.FindOrInstall(DebianPackage, "chromium", "chromium-browser"), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The browser's path; throws, saying how to install it, when it is missing and could not be installed.</summary>
    public static string BrowserPath => Path.Value ?? throw new InvalidOperationException(DebianPackages.HowToInstall("chromium", DebianPackage));
}
