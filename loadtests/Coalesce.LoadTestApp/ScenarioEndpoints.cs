using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.OutputCaching;

namespace Coalesce.LoadTestApp;

/// <summary>
/// Every scenario's endpoints side by side, one path prefix per variant: <c>/off</c> (no coalescing middleware
/// in the path at all), <c>/coalesce</c> and <c>/memo</c> (Coalesce), <c>/outputcache</c> (ASP.NET's
/// OutputCache, the peer), <c>/const</c> (a precomputed answer, the ceiling), <c>/outage</c> (memoized, over a
/// backend that can be switched down).
/// </summary>
internal static class ScenarioEndpoints
{
    public static readonly TimeSpan StampedeWork = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan ZipfWork = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// OutputCache in the stampede keeps an entry this briefly, so nearly every wave of requests finds no entry
    /// and what is measured is its locking (one execution while the others wait), not its storage.
    /// </summary>
    public static readonly TimeSpan OutputCacheStampedeExpiry = TimeSpan.FromMilliseconds(1);

    public static readonly TimeSpan ItemTtl = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The outage scenario keeps each id this briefly, so during a 10 s outage every key expires and must be
    /// rendered again; the stale variant adds its windows.
    /// </summary>
    public static readonly TimeSpan OutageTtl = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan OutageStaleWhileRevalidate = TimeSpan.FromSeconds(2);

    public static readonly TimeSpan OutageStaleIfError = TimeSpan.FromMinutes(5);

    public static void MapScenarios(this WebApplication app, ScenarioCounters counters, OutageBackend backend)
    {
        // 1. Stampede: one key, a 100 ms handler.
        Map(app, counters, "stampede.off", "/off/stampede", Stampede).DisableCoalescing();
        Map(app, counters, "stampede.coalesce", "/coalesce/stampede", Stampede).WithCoalescing();
        Map(app, counters, "stampede.outputcache", "/outputcache/stampede", Stampede)
            .DisableCoalescing().CacheOutput(p => p.Expire(OutputCacheStampedeExpiry).SetLocking(true));

        // 2. Overhead: unique ids, so nothing can be shared; a trivial handler.
        Map(app, counters, "unique.off", "/off/unique", Unique).DisableCoalescing();
        Map(app, counters, "unique.coalesce", "/coalesce/unique", Unique).WithCoalescing();

        // 3. Memoized hit path: the same JSON from a memoized endpoint, from OutputCache, and precomputed.
        Map(app, counters, "item.memo", "/memo/item", Item).WithCoalescing(p => p.Memoize(ItemTtl));
        Map(app, counters, "item.outputcache", "/outputcache/item", Item).DisableCoalescing().CacheOutput(p => p.Expire(ItemTtl));
        Map(app, counters, "item.const", "/const/item", ConstItem).DisableCoalescing();

        // 3b. The same with a ~30 KB JSON page.
        Map(app, counters, "item30k.memo", "/memo/item30k", Item30k).WithCoalescing(p => p.Memoize(ItemTtl));
        Map(app, counters, "item30k.outputcache", "/outputcache/item30k", Item30k).DisableCoalescing().CacheOutput(p => p.Expire(ItemTtl));

        // 4. Zipf-distributed ids over a 20 ms handler.
        Map(app, counters, "zipf.off", "/off/zipf/{id:int}", Zipf).DisableCoalescing();
        Map(app, counters, "zipf.coalesce", "/coalesce/zipf/{id:int}", Zipf).WithCoalescing();
        Map(app, counters, "zipf.memo", "/memo/zipf/{id:int}", Zipf).WithCoalescing(p => p.Memoize(ItemTtl));

        // 6. Memory: the ~1 KB item under distinct ?id= values, kept by Coalesce and by OutputCache.
        Map(app, counters, "fill.memo", "/memo/fill", Item).WithCoalescing(p => p.Memoize(ItemTtl));
        Map(app, counters, "fill.outputcache", "/outputcache/fill", Item).DisableCoalescing()
            .CacheOutput(p => p.Expire(ItemTtl).SetVaryByQuery("id").Tag("fill"));

        // 7. Outage: Zipf-distributed ids over a 20 ms backend that fails while it is down; memoized briefly,
        // without and with stale windows. Their answers are counted (OutageAnswers), the backend's exception answered 503.
        Func<HttpContext, ScenarioCounters.Variant, Task> outage = (context, counter) => Outage(context, counter, backend);
        MapCounted(app, counters, "outage.plain", "/outage/plain/{id:int}", outage).WithCoalescing(p => p.Memoize(OutageTtl));
        MapCounted(app, counters, "outage.stale", "/outage/stale/{id:int}", outage)
            .WithCoalescing(p => p.Memoize(OutageTtl).StaleWhileRevalidate(OutageStaleWhileRevalidate).StaleIfError(OutageStaleIfError));
    }

    private static IEndpointConventionBuilder Map(WebApplication app, ScenarioCounters counters, string variant, string pattern,
        Func<HttpContext, ScenarioCounters.Variant, Task> handler)
    {
        var counter = counters.Add(variant, "GET " + pattern);
        return app.MapGet(pattern, (RequestDelegate)(context => handler(context, counter)));
    }

    private static IEndpointConventionBuilder MapCounted(WebApplication app, ScenarioCounters counters, string variant, string pattern,
        Func<HttpContext, ScenarioCounters.Variant, Task> handler)
    {
        var counter = counters.Add(variant, "GET " + pattern);
        return app.MapGet(pattern, (RequestDelegate)(context => handler(context, counter))).WithMetadata(new CountsAnswers(counter));
    }

    private static async Task Stampede(HttpContext context, ScenarioCounters.Variant counter)
    {
        counter.Executed();
        await Task.Delay(StampedeWork, context.RequestAborted);
        await context.Response.WriteAsJsonAsync(new Answer("stampede", Environment.TickCount64));
    }

    private static Task Unique(HttpContext context, ScenarioCounters.Variant counter)
    {
        counter.Executed();
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(context.Request.Query["id"].ToString());
    }

    private static Task Item(HttpContext context, ScenarioCounters.Variant counter)
    {
        counter.Executed();
        return context.Response.WriteAsJsonAsync(ItemPayload.Value);
    }

    private static Task Item30k(HttpContext context, ScenarioCounters.Variant counter)
    {
        counter.Executed();
        return context.Response.WriteAsJsonAsync(ItemPayload.Large);
    }

    private static Task ConstItem(HttpContext context, ScenarioCounters.Variant counter)
    {
        counter.Executed();
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = ItemPayload.Utf8.Length;
        return context.Response.Body.WriteAsync(ItemPayload.Utf8, context.RequestAborted).AsTask();
    }

    private static async Task Zipf(HttpContext context, ScenarioCounters.Variant counter)
    {
        counter.Executed();
        await Task.Delay(ZipfWork, context.RequestAborted);
        await context.Response.WriteAsJsonAsync(new Answer((string)context.Request.RouteValues["id"]!, Environment.TickCount64));
    }

    private static async Task Outage(HttpContext context, ScenarioCounters.Variant counter, OutageBackend backend)
    {
        counter.Executed();
        await Task.Delay(ZipfWork, context.RequestAborted);
        if (backend.IsDown)
        {
            // The work was done and then the backend failed, as a database call that times out or is refused.
            counter.BackendFailed();
            throw new BackendUnavailableException();
        }

        await context.Response.WriteAsJsonAsync(new Answer((string)context.Request.RouteValues["id"]!, Environment.TickCount64));
    }

    internal sealed record Answer(string Id, long At);

    /// <summary>A small catalogue page (about 1 KB of JSON), the same for every request.</summary>
    internal static class ItemPayload
    {
        public static readonly IReadOnlyList<CatalogItem> Value =
            [.. Enumerable.Range(1, 10).Select(i => new CatalogItem(i, $"Product {i}", i % 2 == 0 ? "books" : "tools", 9.99m + i, ["new", "popular"]))];

        /// <summary>A large catalogue page (about 30 KB of JSON).</summary>
        public static readonly IReadOnlyList<CatalogItem> Large =
            [.. Enumerable.Range(1, 300).Select(i => new CatalogItem(i, $"Product {i}", i % 2 == 0 ? "books" : "tools", 9.99m + i, ["new", "popular"]))];

        public static readonly byte[] Utf8 = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(Value, JsonSerializerOptions.Web));
    }

    internal sealed record CatalogItem(int Id, string Name, string Category, decimal Price, string[] Labels);
}
