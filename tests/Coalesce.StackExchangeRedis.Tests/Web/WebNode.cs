using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Coalesce.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>The shared "database" behind every app instance of a test: a version per product.</summary>
internal sealed class Catalog
{
    private readonly ConcurrentDictionary<int, int> _versions = new();

    public int Version(int id) => _versions.GetOrAdd(id, 1);

    public int Bump(int id) => _versions.AddOrUpdate(id, 2, static (_, v) => v + 1);
}

/// <summary>
/// One app instance on Kestrel loopback with its own DI container, memo cache and multiplexer, on the Redis level.
/// Every client sends the same <c>Host</c>, as clients behind one load balancer would, so the instances' keys match.
/// </summary>
internal sealed class WebNode : IAsyncDisposable
{
    public const string Host = "shop.example";

    private readonly WebApplication _app;
    private int _productRuns;
    private int _meRuns;
    private int _stopped;

    private WebNode(WebApplication app, LogSink logs)
    {
        _app = app;
        Logs = logs;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // No cookie jar: a response's Set-Cookie must not turn the next request into another identity's.
        Client = new HttpClient(new SocketsHttpHandler { UseCookies = false }) { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(10) };
        Client.DefaultRequestHeaders.Host = Host;
    }

    public HttpClient Client { get; }

    public LogSink Logs { get; }

    public IServiceProvider Services => _app.Services;

    public MemoCache Cache => Services.GetRequiredService<MemoCache>();

    public RedisInvalidationBus Bus => Services.GetRequiredService<RedisInvalidationBus>();

    public RedisCoalescingStats Stats => Services.GetRequiredService<RedisCoalescingStatsSource>().GetSnapshot();

    /// <summary>Requests that joined another request's flight on this instance (counted when they join).</summary>
    public long Followers => Services.GetRequiredService<RequestFlights>().Joins;

    /// <summary>
    /// Whether a direct cache invalidation of this instance is still being published. One starts synchronously, inside
    /// the cache call (its hook), so once this is false, whatever was started is counted in <see cref="Stats"/>.
    /// </summary>
    public bool IsPublishing => Services.GetRequiredService<MemoCacheInvalidationPublisher>().IsPublishing;

    /// <summary>This instance's cross-instance single-flight.</summary>
    public RedisSingleFlight Flights => Services.GetRequiredService<RedisSingleFlight>();

    /// <summary>How often this instance ran <c>GET /products/{id}</c>'s handler.</summary>
    public int ProductRuns => Volatile.Read(ref _productRuns);

    /// <summary>How often this instance ran <c>GET /me</c>'s handler.</summary>
    public int MeRuns => Volatile.Read(ref _meRuns);

    /// <summary>
    /// Starts an instance; <paramref name="endpoints"/> maps a test's own endpoints beside the catalog's, and
    /// <paramref name="services"/> adds a test's own services.
    /// </summary>
    public static async Task<WebNode> StartAsync(
        string redis, Catalog catalog, Action<RedisCoalescingOptions>? configure = null, Action<WebApplication>? endpoints = null,
        Action<RequestCoalescingOptions>? coalescing = null, Action<IServiceCollection>? services = null)
    {
        var logs = new LogSink();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddRequestCoalescing(o =>
        {
            o.EmitCacheStatus = true;
            coalescing?.Invoke(o);
        });
        builder.Services.AddStackExchangeRedisCoalescing(o =>
        {
            TestNode.UseFastTimings(o, redis);
            configure?.Invoke(o);
        });
        services?.Invoke(builder.Services);

        var app = builder.Build();
        var node = default(WebNode);
        app.UseRouting();
        app.UseRequestCoalescing();
        app.MapGet("/products/{id:int}", (int id, HttpContext context) =>
            {
                Interlocked.Increment(ref node!._productRuns);
                var version = catalog.Version(id);
                context.Response.Headers.ETag = $"\"p{id}v{version}\"";
                context.Response.Headers["X-Version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return Results.Text($"product {id} v{version}");
            })
            .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("product:{id}"));
        app.MapPut("/products/{id:int}", (int id) => Results.Text($"v{catalog.Bump(id)}")).InvalidatesTags("product:{id}");
        app.MapGet("/me", (HttpContext context) =>
            {
                Interlocked.Increment(ref node!._meRuns);
                return Results.Text($"me={context.Request.Headers.Authorization}");
            })
            .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("me"));
        app.MapCoalescingStats();
        endpoints?.Invoke(app);
        await app.StartAsync();
        node = new WebNode(app, logs);
        return node;
    }

    /// <summary>Starts instances and waits until each follows the others' invalidations; disposing the result stops them all.</summary>
    public static async Task<Nodes<WebNode>> StartSynchronizedAsync(
        string redis, Catalog catalog, int count, Action<RedisCoalescingOptions>? configure = null, Func<int, Action<WebApplication>>? endpoints = null,
        Action<RequestCoalescingOptions>? coalescing = null)
    {
        var nodes = new WebNode[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                nodes[i] = await StartAsync(redis, catalog, configure, endpoints?.Invoke(i), coalescing);
            }
        }
        catch
        {
            await nodes.DisposeAllAsync();
            throw;
        }

        foreach (var node in nodes)
        {
            await Eventually.TrueAsync(() => node.Bus.IsSynchronized, "the instance synchronized");
        }

        return new Nodes<WebNode>(nodes);
    }

    public async Task<HttpResponseMessage> GetAsync(string path, string? authorization = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (authorization is not null)
        {
            request.Headers.Authorization = AuthenticationHeaderValue.Parse(authorization);
        }

        return await Client.SendAsync(request);
    }

    public ValueTask DisposeAsync() => StopAsync(TimeSpan.FromSeconds(5));

    /// <summary>
    /// Stops the host, cutting requests still running off after <paramref name="drain"/>, and disposes it (its
    /// connection, leases and timers). Idempotent.
    /// </summary>
    public async ValueTask StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        Client.Dispose();
        try
        {
            using var timeout = new CancellationTokenSource(drain);
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}
