using System.Diagnostics;

namespace Coalesce.LoadTestApp;

/// <summary>
/// The streaming scenario (issue #23): a handler that writes <see cref="BodyBytes"/> over about 2 s in
/// <see cref="Chunks"/> chunks, one every <see cref="ChunkInterval"/>, without a <c>Content-Length</c> (an export or a
/// proxied upstream), under <c>/off</c>, <c>/coalesce</c> (default options) and <c>/outputcache</c> (locking on, the
/// entry kept as briefly as the stampede's). Each response says whether the handler ran for that very request
/// (<see cref="RanHeader"/>), so the runner can tell a leader from the clients that got its bytes. <c>?first-byte-ms=</c>
/// delays the first byte.
/// </summary>
internal static class StreamingEndpoints
{
    public const int Chunks = 100;

    public const int ChunkBytes = 50 * 1024;

    public const long BodyBytes = (long)Chunks * ChunkBytes;

    public static readonly TimeSpan ChunkInterval = TimeSpan.FromMilliseconds(20);

    /// <summary><c>1</c> when the handler ran for this request, <c>0</c> when it was answered with another request's run.</summary>
    public const string RanHeader = "X-Load-Ran";

    private static readonly byte[] Chunk = [.. Enumerable.Range(0, ChunkBytes).Select(i => (byte)('a' + i % 26))];

    // The request whose handler runs in this async flow: set by the outer middleware, marked by the handler. A flow,
    // not HttpContext.Items or a header, so the inputs rule sees no read that would keep followers apart.
    private static readonly AsyncLocal<RanMarker?> Current = new();

    public static bool IsStreamingPath(PathString path) =>
        path.StartsWithSegments("/off/streaming") || path.StartsWithSegments("/coalesce/streaming") ||
        path.StartsWithSegments("/outputcache/streaming");

    /// <summary>
    /// In front of OutputCache and coalescing: marks each streaming request's own flow, and when its response starts
    /// (the last <c>OnStarting</c> to run, so after any copied headers) says whether the handler ran for it.
    /// </summary>
    public static void UseStreamingRoles(this WebApplication app) =>
        app.UseWhen(context => IsStreamingPath(context.Request.Path), branch => branch.Use(async (context, next) =>
        {
            var marker = new RanMarker();
            Current.Value = marker;
            context.Response.OnStarting(static state =>
            {
                var (response, marker) = ((HttpResponse, RanMarker))state;
                response.Headers[RanHeader] = marker.Ran ? "1" : "0";
                return Task.CompletedTask;
            }, (context.Response, marker));
            await next(context);
        }));

    public static void MapStreaming(this WebApplication app, ScenarioCounters counters)
    {
        Map(app, counters, "streaming.off", "/off/streaming").DisableCoalescing();
        Map(app, counters, "streaming.coalesce", "/coalesce/streaming").WithCoalescing();
        Map(app, counters, "streaming.outputcache", "/outputcache/streaming")
            .DisableCoalescing().CacheOutput(p => p.Expire(ScenarioEndpoints.OutputCacheStampedeExpiry).SetLocking(true));
    }

    private static IEndpointConventionBuilder Map(WebApplication app, ScenarioCounters counters, string variant, string pattern)
    {
        var counter = counters.Add(variant, "GET " + pattern);
        return app.MapGet(pattern, (RequestDelegate)(context => Stream(context, counter)));
    }

    private static async Task Stream(HttpContext context, ScenarioCounters.Variant counter)
    {
        counter.Executed();
        if (Current.Value is { } marker)
        {
            marker.Ran = true;
        }

        // ?first-byte-ms=N: the work before the first byte (a query before an export starts), so that requests released
        // together have joined before it; without it the first chunk leaves at once.
        if (int.TryParse(context.Request.Query["first-byte-ms"], out var firstByteMs) && firstByteMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(firstByteMs), context.RequestAborted);
        }

        context.Response.ContentType = "application/octet-stream";
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < Chunks; i++)
        {
            // Paced against the start, so the body takes about Chunks * ChunkInterval however long each write took.
            var due = ChunkInterval * i - Stopwatch.GetElapsedTime(started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, context.RequestAborted);
            }

            await context.Response.Body.WriteAsync(Chunk, context.RequestAborted);
        }
    }

    private sealed class RanMarker
    {
        public bool Ran { get; set; }
    }
}
