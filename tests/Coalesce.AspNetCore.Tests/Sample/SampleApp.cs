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
    private int _networkCalls;

    /// <param name="upstreamFailureRate">The share of calls the in-process upstream fails with 503.</param>
    /// <param name="fallbackFailureRate">The share of calls through the fallback origin that fail with 503.</param>
    /// <param name="network">
    /// Replaces the weather client's network (the test server) with a scripted one, answering by request URI; its
    /// retries then go without delay.
    /// </param>
    /// <param name="services">More test services, e.g. an OpenTelemetry exporter.</param>
    /// <param name="settings">More configuration, as command-line arguments would give it (<c>Coalesce:WaitTimeout</c>).</param>
    public SampleApp(
        double upstreamFailureRate = 0, Func<Uri, HttpResponseMessage>? network = null, double fallbackFailureRate = 0, Action<IServiceCollection>? services = null,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        var more = services;
        WebApplicationFactory<Program>? factory = null;
        factory = _root.WithWebHostBuilder(b => WithSettings(b, settings)
            .UseSetting("Catalog:LatencyMs", "20")
            .UseSetting("Upstream:LatencyMs", "0")
            .UseSetting("Upstream:FailureRate", upstreamFailureRate.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("Upstream:FallbackFailureRate", fallbackFailureRate.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .UseSetting("Upstream:Seed", "7")
            .UseSetting("Telemetry:Console", "false")
            .UseSetting("Upstream:BaseAddress", "http://primary.test/")
            .UseSetting("Upstream:FallbackAddress", "http://fallback.test")
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureTestServices(testServices =>
            {
                more?.Invoke(testServices);
                testServices.AddHttpClient(WeatherEndpoints.ClientName)
                    .ConfigurePrimaryHttpMessageHandler(() => network is null ? factory!.Server.CreateHandler() : new ScriptedNetwork(network, this));
                if (network is not null)
                {
                    testServices.Configure<HttpCoalescingOptions>(WeatherEndpoints.ClientName, o => o.Retry!.Delay = TimeSpan.Zero);
                }
            }));
        _factory = factory;
        Client = _factory.CreateClient();
        Client.Timeout = TestApp.Patience;
    }

    public HttpClient Client { get; }

    private static IWebHostBuilder WithSettings(IWebHostBuilder builder, IReadOnlyDictionary<string, string>? settings)
    {
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.UseSetting(key, value);
        }

        return builder;
    }

    public IServiceProvider Services => _factory.Services;

    public ProductStore Store => _factory.Services.GetRequiredService<ProductStore>();

    public FlakyUpstream Upstream => _factory.Services.GetRequiredService<FlakyUpstream>();

    /// <summary>How many calls reached the scripted network.</summary>
    public int NetworkCalls => Volatile.Read(ref _networkCalls);

    public CoalescingStatsRegistry Stats => _factory.Services.GetRequiredService<CoalescingStatsRegistry>();

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
        await _root.DisposeAsync();
    }

    private sealed class ScriptedNetwork(Func<Uri, HttpResponseMessage> respond, SampleApp app) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref app._networkCalls);
            var response = respond(request.RequestUri!);
            response.RequestMessage = request;
            return Task.FromResult(response);
        }
    }
}
