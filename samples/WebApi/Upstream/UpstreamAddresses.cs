using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace WebApi.Upstream;

/// <summary>
/// Where the in-process upstream answers: <c>Upstream:BaseAddress</c> if set, else the address this app listens
/// on, read once the server has started (so a port chosen by the OS, such as with <c>--urls http://127.0.0.1:0</c>,
/// is known).
/// </summary>
internal sealed class UpstreamAddresses(IOptions<UpstreamOptions> options, IServer server)
{
    private Uri? _root;

    /// <summary>The app's own root address, ending in a slash.</summary>
    public Uri Root => _root ??= Resolve();

    /// <summary>The flaky upstream, which fails <c>Upstream:FailureRate</c> of its calls.</summary>
    public Uri Primary => new(Root, FlakyWeatherEndpoints.Prefix.TrimStart('/') + "/");

    private Uri Resolve()
    {
        if (options.Value.BaseAddress is { } configured)
        {
            return EndWithSlash(configured);
        }

        var listening = server.Features.Get<IServerAddressesFeature>()?.Addresses
            .FirstOrDefault(a => a.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            ?? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (listening is null)
        {
            // The in-memory test server has no addresses; its clients use http://localhost/.
            return new Uri("http://localhost/");
        }

        var builder = new UriBuilder(listening.Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        if (builder.Host is "0.0.0.0" or "[::]" or "::")
        {
            builder.Host = "127.0.0.1";
        }

        return EndWithSlash(builder.Uri);
    }

    private static Uri EndWithSlash(Uri uri) =>
        uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
