using StackExchange.Redis;
using WebApi;
using WebApi.Catalog;
using WebApi.Orders;
using WebApi.Tenants;
using WebApi.Upstream;
using WebApi.Weather;

var builder = WebApplication.CreateBuilder(args);

// Listen on loopback only, unless the caller chose addresses (--urls, ASPNETCORE_URLS, HTTP_PORTS, Kestrel:Endpoints).
if (!SampleDefaults.ListeningIsConfigured(builder.Configuration))
{
    builder.WebHost.UseUrls(SampleDefaults.Url);
}

builder.Services.AddProblemDetails();
builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, SampleJsonContext.Default));
// Metrics from the Coalesce meter at /metrics for Prometheus; metrics and traces to OTLP when OTEL_EXPORTER_OTLP_ENDPOINT
// is set, to the console only when Telemetry:Console=true asks for it.
builder.Services.AddSampleTelemetry(builder.Configuration);
// Every Coalesce:* option comes from configuration (appsettings.json, --Coalesce:WaitTimeout=00:00:05, ...). Its
// EmitCacheStatus=true puts Cache-Status on every response, so `curl -i` says hit, collapsed, miss or bypass.
builder.Services.AddRequestCoalescing(builder.Configuration.GetSection(SampleDefaults.CoalesceSection));
// One setting moves the sample across instances (`--Coalesce:Redis=127.0.0.1:6379`): memoized responses are shared
// through Redis and a write's invalidation reaches every instance before its 2xx; the catalogue itself moves to Redis
// too, so every instance reads the same products (one multiplexer, shared with Coalesce), and GET /healthz says whether
// this instance follows the others. Without it, everything (the catalogue included) is in-process.
if (builder.Configuration[SampleDefaults.RedisKey] is { Length: > 0 } redis)
{
    builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
    {
        var options = ConfigurationOptions.Parse(redis);
        options.AbortOnConnectFail = false;
        return ConnectionMultiplexer.Connect(options);
    });
    // Options other than the connection from Coalesce:RedisOptions (for example --Coalesce:RedisOptions:LeaseDuration=00:00:02).
    builder.Services.AddStackExchangeRedisCoalescing(
        builder.Configuration.GetSection("Coalesce:RedisOptions"),
        o => o.ConnectionMultiplexerFactory = services => services.GetRequiredService<IConnectionMultiplexer>());
    builder.Services.AddSingleton<ICatalogData, RedisCatalogData>();
    builder.Services.AddHealthChecks().AddCoalescingRedis();
}
else
{
    builder.Services.AddSingleton<ICatalogData, InMemoryCatalogData>();
}

// The live page at /_coalesce (answers this machine only). Its invalidate action is on in appsettings.json
// (Coalesce:Dashboard:AllowInvalidation); AddCoalescingDashboard registers the antiforgery token it needs.
builder.Services.AddCoalescingDashboard(builder.Configuration.GetSection("Coalesce:Dashboard"));

builder.Services.AddResponseCompression();

builder.Services.AddSingleton<ProductStore>();
builder.Services.AddOptions<UpstreamOptions>()
    .BindConfiguration(UpstreamOptions.Section)
    .Validate(o => o.FailureRate is >= 0 and <= 1, "Upstream:FailureRate must be between 0 and 1.")
    .Validate(o => o.FallbackFailureRate is >= 0 and <= 1, "Upstream:FallbackFailureRate must be between 0 and 1.")
    .Validate(o => o.LatencyMs is >= 0 and <= 60_000, "Upstream:LatencyMs must be between 0 and 60000.")
    .ValidateOnStart();
builder.Services.AddSingleton<FlakyUpstream>();
builder.Services.AddSingleton<UpstreamAddresses>();

// The outbound client to the flaky upstream: identical concurrent calls share one network call; a 503 or a
// network error tries the fallback origin within the same attempt (which fails now and then too, so the stats show
// retries as well as fallbacks), then retries with backoff and jitter (the retry
// options are Microsoft.Extensions.Http.Resilience's). A 5xx still failing after the last retry comes back as the
// response; a network failure throws an HttpRequestException (HttpAllAttemptsFailedException, listing every attempt).
// Prefer the standard handler's pipeline? `.AddCoalescing(o => ...).AddStandardResilienceHandler()`: Coalesce's own
// retry and timeouts then step aside, and each flight of identical calls goes through that handler once.
var fallback = builder.Configuration.GetSection(UpstreamOptions.Section).Get<UpstreamOptions>()?.FallbackAddress
    ?? new UpstreamOptions().FallbackAddress;
builder.Services.AddHttpClient(WeatherEndpoints.ClientName, (services, client) =>
        client.BaseAddress = services.GetRequiredService<UpstreamAddresses>().Primary)
    .AddCoalescing(o =>
    {
        o.Retry!.MaxRetryAttempts = 2;
        o.Retry.Delay = TimeSpan.FromMilliseconds(200);
        o.AttemptTimeout = TimeSpan.FromSeconds(2);
        o.TotalTimeout = TimeSpan.FromSeconds(10);
        o.FallbackBaseAddresses.Add(fallback);
    });

var app = builder.Build();

// Exception handling and status-code pages come before coalescing, so every follower gets the app's own answer.
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // A malformed body is the client's fault in every environment: 400, not 500.
    StatusCodeSelector = error => error switch
    {
        BadHttpRequestException bad => bad.StatusCode,
        CatalogUnavailableException => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    },
});
app.UseStatusCodePages();

// Resolves the tenant from X-Tenant into HttpContext.Items, in front of coalescing (GET /dashboard reads it).
app.UseTenantResolver();
app.UseRequestCoalescing();

// Compression after coalescing: followers and memoized hits replay bytes compressed once.
app.UseResponseCompression();

app.MapGet("/", () => TypedResults.Ok(new SampleIndex("Coalesce sample", SampleDefaults.TryThese))).DisableCoalescing();
app.MapProducts();
app.MapWeather();
app.MapTenantDashboard();
app.MapOrders();
app.MapFlakyUpstream();
app.MapCoalescingStats();
app.MapCoalescingDashboard();
app.MapSampleTelemetry();
if (app.Configuration[SampleDefaults.RedisKey] is { Length: > 0 })
{
    app.MapHealthChecks("/healthz").DisableCoalescing();
}

app.Lifetime.ApplicationStarted.Register(() =>
{
    var root = app.Services.GetRequiredService<UpstreamAddresses>().Root.AbsoluteUri.TrimEnd('/');
    SampleLog.Listening(app.Logger, root);
});

app.Run();

/// <summary>The sample's entry point, visible to the integration tests.</summary>
public partial class Program;
