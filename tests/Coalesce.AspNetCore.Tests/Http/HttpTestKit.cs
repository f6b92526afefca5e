using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Coalesce.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.AspNetCore.Tests.Http;

/// <summary>One request as the upstream saw it: bytes read at send time, so a later dispose cannot hide them.</summary>
internal sealed record SentRequest(int Index, HttpMethod Method, Uri Uri, Dictionary<string, string> Headers, byte[] Body, CancellationToken Token);

/// <summary>
/// The network, scripted: each call records what was sent and answers from the test's function. Every response it
/// makes carries <see cref="TrackedContent"/>, so tests can assert that discarded responses were disposed.
/// </summary>
internal sealed class ScriptedHandler(Func<SentRequest, Task<HttpResponseMessage>> respond) : HttpMessageHandler
{
    private readonly ConcurrentQueue<SentRequest> _requests = new();
    private readonly ConcurrentQueue<HttpResponseMessage> _responses = new();
    private readonly ConcurrentQueue<TrackedContent> _contents = new();
    private int _count;

    public ScriptedHandler(Func<SentRequest, HttpResponseMessage> respond)
        : this(sent => Task.FromResult(respond(sent)))
    {
    }

    public IReadOnlyList<SentRequest> Requests => [.. _requests.OrderBy(r => r.Index)];

    public IReadOnlyList<HttpResponseMessage> Responses => [.. _responses];

    /// <summary>The content of every response as the network sent it (the handler may replace a response's content with a buffered copy).</summary>
    public IReadOnlyList<TrackedContent> SentContents => [.. _contents];

    public int Count => Volatile.Read(ref _count);

    public Task WaitForCallsAsync(int count) => TestApp.WaitUntilAsync(() => Count >= count, $"{count} upstream calls");

    public static HttpResponseMessage Respond(HttpStatusCode status, string body = "", Action<HttpResponseMessage>? configure = null)
    {
        var response = new HttpResponseMessage(status) { Content = new TrackedContent(body) };
        configure?.Invoke(response);
        return response;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            .ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        var sent = new SentRequest(Interlocked.Increment(ref _count), request.Method, request.RequestUri!, headers, body, cancellationToken);
        _requests.Enqueue(sent);
        var response = await respond(sent);
        response.RequestMessage = request;
        _responses.Enqueue(response);
        if (response.Content is TrackedContent tracked)
        {
            _contents.Enqueue(tracked);
        }
        return response;
    }
}

/// <summary>String content that remembers whether it was disposed.</summary>
internal sealed class TrackedContent(string body) : StringContent(body)
{
    public bool Disposed { get; private set; }

    protected override void Dispose(bool disposing)
    {
        Disposed = true;
        base.Dispose(disposing);
    }
}

/// <summary>A service provider with one coalescing client over a scripted network and a manual clock.</summary>
internal sealed class ScriptedClient : IDisposable
{
    public const string Name = "upstream";

    private readonly ServiceProvider _services;

    public ScriptedClient(ScriptedHandler network, Action<HttpCoalescingOptions> configure, string baseAddress = "http://primary.test/")
    {
        Network = network;
        var services = new ServiceCollection();
        services.AddFakeLogging();
        services.AddSingleton<TimeProvider>(Time);
        services.AddHttpClient(Name, c => c.BaseAddress = new Uri(baseAddress))
            .AddCoalescing(configure)
            .ConfigurePrimaryHttpMessageHandler(() => network);
        _services = services.BuildServiceProvider();
        Client = _services.GetRequiredService<IHttpClientFactory>().CreateClient(Name);
    }

    public ManualTimeProvider Time { get; } = new();

    public ScriptedHandler Network { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _services;

    public FakeLogCollector Logs => _services.GetFakeLogCollector();

    public HttpClientCounts Stats =>
        _services.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients.Single(c => c.Name == Name);

    /// <summary>Turns off the options that arm timers, so a test counts only the timers it cares about.</summary>
    public static void Untimed(HttpCoalescingOptions options)
    {
        options.AttemptTimeout = null;
        options.TotalTimeout = null;
        options.Retry?.UseJitter = false;
    }

    public void Dispose()
    {
        Client.Dispose();
        _services.Dispose();
    }
}

/// <summary>A real Kestrel upstream on 127.0.0.1 and a free port.</summary>
internal sealed class KestrelUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private KestrelUpstream(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    public Uri Address { get; }

    public static async Task<KestrelUpstream> StartAsync(Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return new KestrelUpstream(app, new Uri(app.Urls.First()));
    }

    /// <summary>A port nothing listens on: bound, then released.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
