using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WebApi.Catalog;
using WebApi.Upstream;
using WebApi.Weather;

namespace Coalesce.AspNetCore.Tests.Sample;

/// <summary>
/// The sample API on the test server, with a fast store and a deterministic upstream. The weather client's
/// calls to the in-process upstream go through the test server too.
/// </summary>
internal sealed class SampleApp : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _root = new();
    private readonly WebApplicationFactory<Program> _factory;

    public SampleApp(double upstreamFailureRate = 0)
    {
        WebApplicationFactory<Program>? factory = null;
        factory = _root.WithWebHostBuilder(b => b
            .UseSetting("Catalog:LatencyMs", "20")
            .UseSetting("Upstream:LatencyMs", "0")
            .UseSetting("Upstream:FailureRate", upstreamFailureRate.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("Upstream:Seed", "7")
            .UseSetting("Upstream:BaseAddress", "http://primary.test/")
            .UseSetting("Upstream:FallbackAddress", "http://fallback.test")
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureTestServices(services => services
                .AddHttpClient(WeatherEndpoints.ClientName)
                .ConfigurePrimaryHttpMessageHandler(() => factory!.Server.CreateHandler())));
        _factory = factory;
        Client = _factory.CreateClient();
        Client.Timeout = TestApp.Patience;
    }

    public HttpClient Client { get; }

    public ProductStore Store => _factory.Services.GetRequiredService<ProductStore>();

    public FlakyUpstream Upstream => _factory.Services.GetRequiredService<FlakyUpstream>();

    public CoalescingStatsRegistry Stats => _factory.Services.GetRequiredService<CoalescingStatsRegistry>();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
        await _root.DisposeAsync();
    }
}
