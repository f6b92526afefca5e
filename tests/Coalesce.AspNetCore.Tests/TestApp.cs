using Coalesce.AspNetCore;
using Coalesce.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore.Tests;

/// <summary>
/// A real ASP.NET Core app on the in-memory test server with request coalescing in its pipeline, a clock the
/// test controls, and handles on the flights and stats so tests can wait for followers instead of sleeping.
/// </summary>
internal sealed class TestApp : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private readonly WebApplication _app;

    private TestApp(WebApplication app, ManualTimeProvider time, Uri? kestrelAddress)
    {
        _app = app;
        Time = time;
        KestrelAddress = kestrelAddress;
        Client = kestrelAddress is null ? app.GetTestClient() : CreateKestrelClient(kestrelAddress);
        Client.Timeout = Patience;
    }

    /// <summary>Where the app listens when it runs on real Kestrel over loopback; <see langword="null"/> on the test server.</summary>
    public Uri? KestrelAddress { get; }

    /// <summary>
    /// A client of the Kestrel app that leaves bodies as sent (no automatic decompression), so tests see the
    /// bytes and the Content-Encoding exactly as a client would receive them.
    /// </summary>
    public static HttpClient CreateKestrelClient(Uri address) => new(new SocketsHttpHandler
    {
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
    })
    {
        BaseAddress = address,
        Timeout = Patience,
    };

    public HttpClient Client { get; }

    public ManualTimeProvider Time { get; }

    public IServiceProvider Services => _app.Services;

    public CoalescingStatsRegistry Stats => _app.Services.GetRequiredService<CoalescingStatsRegistry>();

    public SharedCall Flights => _app.Services.GetRequiredService<RequestFlights>().Calls;

    /// <summary>Requests that joined another's flight so far.</summary>
    public long Joins => _app.Services.GetRequiredService<RequestFlights>().Joins;

    /// <summary>Followers that streamed a leader's body as it was written, over every endpoint (the stats' <c>streamed</c>).</summary>
    public long Streamed => Stats.GetSnapshot().Endpoints.Sum(e => e.Streamed);

    public MemoCache Cache => _app.Services.GetRequiredService<MemoCache>();

    public static async Task<TestApp> StartAsync(
        Action<WebApplication> map,
        Action<RequestCoalescingOptions>? configure = null,
        Action<WebApplication>? beforeCoalescing = null,
        Action<WebApplication>? afterCoalescing = null,
        Action<IServiceCollection>? services = null,
        bool kestrel = false,
        bool useCoalescing = true)
    {
        var time = new ManualTimeProvider();
        var builder = WebApplication.CreateSlimBuilder();
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        builder.Services.AddRequestCoalescing(configure);
        builder.Services.AddSingleton<TimeProvider>(time);
        services?.Invoke(builder.Services);

        var app = builder.Build();
        beforeCoalescing?.Invoke(app);
        if (useCoalescing)
        {
            app.UseRequestCoalescing();
        }

        afterCoalescing?.Invoke(app);
        map(app);
        try
        {
            // Every test stops what it started, also when starting fails halfway.
            await app.StartAsync();
            var address = kestrel
                ? new Uri(app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First())
                : null;
            return new TestApp(app, time, address);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until <paramref name="count"/> requests have joined flights as followers.</summary>
    public Task WaitForFollowersAsync(long count) => WaitUntilAsync(() => Joins >= count, $"{count} followers");

    /// <summary>
    /// Waits until no flight is in progress. A client can hold a leader's whole response a moment before its
    /// flight settles, and a request sent in that moment rightly joins it; tests that count executions of
    /// one-after-another requests wait for this in between.
    /// </summary>
    public Task WaitForNoFlightsAsync() => WaitUntilAsync(() => Flights.InFlightCount == 0, "no flight in progress");

    /// <summary>Sends both URLs at once to a gated app and asserts they ran apart and answered differently.</summary>
    public async Task AssertNotSharedAsync(Gate gate, string first, string second)
    {
        var a = Client.GetStringAsync(first);
        var b = Client.GetStringAsync(second);
        await gate.WaitForExecutionsAsync(2);
        gate.Open();

        Assert.NotEqual(await a, await b);
        Assert.Equal(2, gate.Executions);
    }

    /// <summary>Sends a request with the headers that tell requests and callers apart, each only when given.</summary>
    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? accept = null, string? authorization = null, string? cookie = null)
    {
        var request = new HttpRequestMessage(method, url);
        if (accept is not null) { request.Headers.TryAddWithoutValidation("Accept", accept); }
        if (authorization is not null) { request.Headers.TryAddWithoutValidation("Authorization", authorization); }
        if (cookie is not null) { request.Headers.TryAddWithoutValidation("Cookie", cookie); }
        return Client.SendAsync(request);
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}.");
            }

            await Task.Delay(2);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
