using Microsoft.AspNetCore.OutputCaching;
using Coalesce;
using Coalesce.LoadTestApp;

// The app every HTTP load scenario runs against; see loadtests/README.md. Usage: --port <n> (0 picks a free one);
// --redis <host:port> [--redis-prefix <p>] runs it on Redis (the scale-out scenario: several instances, one Redis);
// --probe <writer URL>,<reader URL>,... is the scale-out scenario's invalidation client instead (no server).
// Pipeline: routing -> the streaming scenario's roles (only on its paths) -> the outage scenario's answers (503 for its backend's exception, counted) -> OutputCache ->
// request coalescing (only on /coalesce, /memo, /outage and /scaleout) -> endpoints.
var builder = WebApplication.CreateSlimBuilder(args);
if (builder.Configuration["probe"] is { Length: > 0 })
{
    return await InvalidationProbe.RunAsync(builder.Configuration);
}

var port = builder.Configuration.GetValue("port", 5090);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.SetMinimumLevel(LogLevel.Warning);

builder.Services.AddRequestCoalescing();
builder.Services.AddOutputCache();
builder.Services.AddSingleton<ScenarioCounters>();
builder.Services.AddSingleton<OutageBackend>();

// On Redis: Coalesce's Redis level, under a prefix of the run's own (so a run never reads another's entries), and the
// scale-out scenario's shared "database" (item versions) in the same Redis. Without it, both stay in the process.
var redis = builder.Configuration["redis"];
var redisPrefix = builder.Configuration["redis-prefix"] is { Length: > 0 } p ? p : $"loadtest-{Environment.ProcessId}";
if (redis is { Length: > 0 })
{
    builder.Services.AddStackExchangeRedisCoalescing(o =>
    {
        o.Configuration = redis;
        o.KeyPrefix = redisPrefix;
    });
}

builder.Services.AddSingleton(_ => new ScaleOutBackend(
    redis is { Length: > 0 } ? StackExchange.Redis.ConnectionMultiplexer.Connect(redis) : null, redisPrefix));

var app = builder.Build();
var counters = app.Services.GetRequiredService<ScenarioCounters>();
var backend = app.Services.GetRequiredService<OutageBackend>();
var scaleOut = app.Services.GetRequiredService<ScaleOutBackend>();

app.UseRouting();
app.UseStreamingRoles();
app.UseOutageAnswers(backend);
app.UseOutputCache();
// The "off" and peer variants never pass through the coalescing middleware, so "off" is a pipeline without it.
app.UseWhen(
    context => context.Request.Path.StartsWithSegments("/coalesce") || context.Request.Path.StartsWithSegments("/memo") ||
               context.Request.Path.StartsWithSegments("/outage") || context.Request.Path.StartsWithSegments("/scaleout"),
    branch => branch.UseRequestCoalescing());

app.MapScenarios(counters, backend);
app.MapStreaming(counters);
app.MapScaleOut(scaleOut);
app.MapCoalescingStats();
app.MapGet("/_counts", () => Results.Ok(counters.Read())).DisableCoalescing();
app.MapGet("/_counts.txt", () => Results.Text(counters.ReadAsText())).DisableCoalescing();
app.MapPost("/_counts/reset", () =>
{
    counters.Reset();
    return Results.NoContent();
});

// The outage scenario switches its backend down and up again.
app.MapPost("/_backend/down", () =>
{
    backend.GoDown();
    return Results.NoContent();
}).DisableCoalescing();
app.MapPost("/_backend/up", () =>
{
    backend.GoUp();
    return Results.NoContent();
}).DisableCoalescing();
app.MapGet("/_ready", () => Results.Text("ready")).DisableCoalescing();

// The process's garbage collections and allocated bytes so far: a run's difference over its requests is what each
// request allocated, and how often it paid for a collection.
app.MapGet("/_gc", () => Results.Text(string.Create(System.Globalization.CultureInfo.InvariantCulture,
    $"{GC.CollectionCount(0)} {GC.CollectionCount(1)} {GC.CollectionCount(2)} {GC.GetTotalAllocatedBytes(precise: false)} {GC.GetTotalPauseDuration().TotalMilliseconds:F1}"))).DisableCoalescing();

// The memory scenario reads the managed heap after a full collection, and empties either cache between fills.
app.MapGet("/_heap.txt", (MemoCache memo) =>
{
    var heap = GC.GetTotalMemory(forceFullCollection: true);
    var stats = memo.GetStats();
    return Results.Text($"heap_bytes {heap}\nmemo_entries {stats.Size}\nmemo_bytes {stats.ApproximateBytes}\n");
}).DisableCoalescing();
app.MapPost("/_caches/clear", async (MemoCache memo, IOutputCacheStore outputCache) =>
{
    await memo.ClearAsync();
    await outputCache.EvictByTagAsync("fill", default);
    return Results.NoContent();
});

app.Lifetime.ApplicationStarted.Register(() =>
{
    var address = app.Urls.FirstOrDefault() ?? "?";
    Console.Out.WriteLine($"LOADTEST_LISTENING {address}");
    Console.Out.Flush();
});

await app.RunAsync();
return 0;
