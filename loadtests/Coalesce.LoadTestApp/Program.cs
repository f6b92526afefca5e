using Coalesce.LoadTestApp;

// The app every HTTP load scenario runs against; see loadtests/README.md. Usage: --port <n> (0 picks a free one).
// Pipeline: routing -> OutputCache -> request coalescing (only on /coalesce and /memo) -> endpoints.
var builder = WebApplication.CreateSlimBuilder(args);
var port = builder.Configuration.GetValue("port", 5090);
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
builder.Logging.SetMinimumLevel(LogLevel.Warning);

builder.Services.AddRequestCoalescing();
builder.Services.AddOutputCache();
builder.Services.AddSingleton<ScenarioCounters>();

var app = builder.Build();
var counters = app.Services.GetRequiredService<ScenarioCounters>();

app.UseRouting();
app.UseOutputCache();
// The "off" and peer variants never pass through the coalescing middleware, so "off" is a pipeline without it.
app.UseWhen(
    context => context.Request.Path.StartsWithSegments("/coalesce") || context.Request.Path.StartsWithSegments("/memo"),
    branch => branch.UseRequestCoalescing());

app.MapScenarios(counters);
app.MapCoalescingStats();
app.MapGet("/_counts", () => Results.Ok(counters.Read())).DisableCoalescing();
app.MapGet("/_counts.txt", () => Results.Text(counters.ReadAsText())).DisableCoalescing();
app.MapPost("/_counts/reset", () =>
{
    counters.Reset();
    return Results.NoContent();
});
app.MapGet("/_ready", () => Results.Text("ready")).DisableCoalescing();

app.Lifetime.ApplicationStarted.Register(() =>
{
    var address = app.Urls.FirstOrDefault() ?? "?";
    Console.Out.WriteLine($"LOADTEST_LISTENING {address}");
    Console.Out.Flush();
});

app.Run();
