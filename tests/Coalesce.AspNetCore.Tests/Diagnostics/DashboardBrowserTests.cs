using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Coalesce.AspNetCore.Tests.Diagnostics.Browser;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WebApi.Catalog;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

/// <summary>
/// The issue's "done when": the sample on real Kestrel under load, its dashboard opened in headless Chromium (driven
/// over the DevTools protocol), checked for what a person would see, and a screenshot kept.
/// </summary>
public sealed class DashboardBrowserTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static readonly string[] LoadPaths =
        ["/products/1", "/products/2", "/products/3", "/products?category=books", "/weather/Oslo", "/weather/Bergen"];

    [Fact]
    public async Task The_dashboard_draws_the_samples_endpoints_under_load_in_headless_chromium_and_invalidates_a_tag()
    {
        // Found (or installed, which can take minutes) before the test's own time starts.
        Assert.True(File.Exists(ChromiumInstaller.BrowserPath));
        using var timeout = new CancellationTokenSource(Patience);
        var ct = timeout.Token;
        await using var root = new WebApplicationFactory<Program>();
        await using var sample = root.WithWebHostBuilder(b => b
            .UseSetting("urls", "http://127.0.0.1:0")
            .UseSetting("Catalog:LatencyMs", "20")
            .UseSetting("Upstream:LatencyMs", "10")
            .UseSetting("Upstream:FailureRate", "0")
            .UseSetting("Upstream:FallbackFailureRate", "0")
            .UseSetting("Telemetry:Console", "false")
            .UseSetting("Coalesce:Dashboard:RefreshInterval", "00:00:00.5")
            .UseSetting("Coalesce:Dashboard:History", "00:00:15")
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureTestServices(services => services.AddSingleton<IScaleOutStatsSource, RedisFiguresStandIn>()));
        sample.UseKestrel();
        sample.StartServer();
        var address = new Uri(sample.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single());
        using var client = TestApp.CreateKestrelClient(address);

        using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var load = PutLoadAsync(client, stopLoad.Token);
        try
        {
            await using var chromium = await HeadlessChromium.StartAsync(1280, 1000);
            await using var page = await CdpSession.ConnectAsync(await chromium.FirstPageAsync(ct), ct);
            await page.SendAsync("Runtime.enable", null, ct);
            await page.SendAsync("Log.enable", null, ct);
            await page.SendAsync("Page.enable", null, ct);
            var loaded = page.NextEventAsync("Page.loadEventFired");
            await page.SendAsync("Page.navigate", new JsonObject { ["url"] = new Uri(address, "/_coalesce").AbsoluteUri }, ct);
            await loaded.WaitAsync(ct);

            // Waits in the page itself (bounded here by the token): a dozen readings drawn, every chart kind with data.
            var seen = await page.EvaluateAsync(WhenDrawn, ct);
            await stopLoad.CancelAsync();
            var requests = await load;

            var rows = seen.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("endpoint").GetString()!, r => r.GetProperty("saved").GetInt64());
            var inputs = seen.GetProperty("inputs").EnumerateArray().ToDictionary(r => r.GetProperty("endpoint").GetString()!, r => r.GetProperty("chips").GetString());
            Assert.Contains("item:tenant", inputs.GetValueOrDefault("GET /dashboard"), StringComparison.Ordinal);
            Assert.True(requests > 100, $"only {requests} requests were sent");
            Assert.True(rows.GetValueOrDefault("GET /products/{id:int}") > 0, $"rows: {string.Join(", ", rows)}");
            Assert.True(rows.GetValueOrDefault("GET /weather/{city}") > 0, $"rows: {string.Join(", ", rows)}");
            Assert.True(seen.GetProperty("savedChartPoints").GetInt32() >= 2);
            Assert.True(seen.GetProperty("savedChartMax").GetDouble() > 0);
            Assert.True(seen.GetProperty("polyline").GetString()!.Split(' ').Length >= 2);
            Assert.StartsWith("updated ", seen.GetProperty("status").GetString(), StringComparison.Ordinal);
            Assert.True(seen.GetProperty("clients").GetInt32() >= 1);
            Assert.True(seen.GetProperty("invalidation").GetBoolean());
            Assert.Equal(["connected", "breaker open", "l2 hits", "invalidations received"], seen.GetProperty("redis").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(["badge ok", "badge ok"], seen.GetProperty("redisBadges").EnumerateArray().Select(e => e.GetString()));
            Assert.True(page.Errors.Count == 0, "The page reported errors:\n" + string.Join("\n", page.Errors));

            await page.SendAsync("Emulation.setDeviceMetricsOverride", new JsonObject
            {
                ["width"] = 1280, ["height"] = 1000, ["deviceScaleFactor"] = 1, ["mobile"] = false,
            }, ct);
            var screenshot = await page.SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png", ["captureBeyondViewport"] = true }, ct);
            var png = Convert.FromBase64String(screenshot.GetProperty("data").GetString()!);
            var artifact = Path.Combine(AppContext.BaseDirectory, "artifacts", "dashboard.png");
            Directory.CreateDirectory(Path.GetDirectoryName(artifact)!);
            await File.WriteAllBytesAsync(artifact, png, ct);
            Assert.True(png.Length > 10_000, $"the screenshot is only {png.Length} bytes");
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

            // The page's one action, as a person would use it: the browser sends the antiforgery cookie and token.
            var store = sample.Services.GetRequiredService<ProductStore>();
            var queries = store.Queries;
            var done = await page.EvaluateAsync(InvalidateProducts, ct);
            Assert.Equal("tag products: 1 entry removed", done.GetString());
            await client.GetStringAsync("/products?category=books", ct);
            Assert.Equal(queries + 1, store.Queries);
            Assert.True(page.Errors.Count == 0, "The page reported errors:\n" + string.Join("\n", page.Errors));
        }
        finally
        {
            await stopLoad.CancelAsync();
            await load.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Rounds of concurrent reads of coalesced endpoints (memoized products, the weather client's calls) until stopped
    /// (at the latest when the test's time is up), at most 5,000 rounds; returns how many requests succeeded.
    /// </summary>
    private static async Task<int> PutLoadAsync(HttpClient client, CancellationToken stop)
    {
        var succeeded = 0;
        for (var round = 0; round < 5_000 && !stop.IsCancellationRequested; round++)
        {
            var batch = Enumerable.Range(0, 24).Select(async i =>
            {
                try
                {
                    // Every seventh request reads the sample's per-tenant page, whose tenant is an input outside its key.
                    using var request = new HttpRequestMessage(HttpMethod.Get, i % 7 == 6 ? "/dashboard" : LoadPaths[i % LoadPaths.Length]);
                    if (i % 7 == 6)
                    {
                        request.Headers.Add("X-Tenant", i % 2 == 0 ? "acme" : "globex");
                    }

                    using var response = await client.SendAsync(request, stop);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref succeeded);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            });
            await Task.WhenAll(batch);
        }

        return succeeded;
    }

    /// <summary>The Redis level's figures as its package reports them (no Redis runs here): the page draws its section from them.</summary>
    private sealed class RedisFiguresStandIn : IScaleOutStatsSource
    {
        public JsonNode GetStatsJson() => new JsonObject
        {
            ["connected"] = true,
            ["breakerOpen"] = false,
            ["l2Hits"] = 42,
            ["invalidationsReceived"] = 3,
        };
    }

    /// <summary>Fills the invalidate form with the tag <c>products</c>, submits it and resolves with the result the page shows.</summary>
    private const string InvalidateProducts = """
        new Promise(resolve => {
          const result = document.getElementById('invalidate-result');
          new MutationObserver((_, observer) => { if (result.textContent) { observer.disconnect(); resolve(result.textContent); } })
            .observe(result, { childList: true, characterData: true, subtree: true });
          document.getElementById('invalidate-kind').value = 'tag';
          document.getElementById('invalidate-value').value = 'products';
          document.getElementById('invalidate').requestSubmit();
        })
        """;

    /// <summary>
    /// Resolves, inside the page, once it has drawn a dozen readings and a saved-executions chart with a line above
    /// zero, with what a person would read off it.
    /// </summary>
    private const string WhenDrawn = """
        new Promise(resolve => {
          const read = () => {
            if (!document.body || !document.getElementById('endpoints')) { return null; }
            const rows = [...document.querySelectorAll('#endpoints tbody tr[data-endpoint]')]
              .map(r => ({ endpoint: r.dataset.endpoint, saved: Number(r.dataset.saved) }));
            const charts = [...document.querySelectorAll('#endpoints td.saved svg.spark')]
              .filter(s => Number(s.dataset.points) >= 2 && Number(s.dataset.max) > 0 && s.querySelector('polyline'));
            if (Number(document.body.dataset.polls || 0) < 12 || charts.length === 0) { return null; }
            const best = charts.sort((a, b) => Number(b.dataset.points) - Number(a.dataset.points))[0];
            return {
              rows,
              inputs: [...document.querySelectorAll('#endpoints tbody tr[data-endpoint]')]
                .map(r => ({ endpoint: r.dataset.endpoint, chips: [...r.querySelectorAll('.chip')].map(c => c.textContent).join(' ') })),
              savedChartPoints: Number(best.dataset.points),
              savedChartMax: Number(best.dataset.max),
              polyline: best.querySelector('polyline').getAttribute('points'),
              status: document.getElementById('status').textContent,
              clients: document.querySelectorAll('#clients tbody tr').length,
              invalidation: !document.getElementById('invalidate-section').hidden,
              redis: document.getElementById('redis-section').hidden ? [] : [...document.querySelectorAll('#redis dt')].map(d => d.textContent),
              redisBadges: [...document.querySelectorAll('#redis .badge')].map(b => b.className),
            };
          };
          const check = () => { const seen = read(); if (seen) { resolve(seen); } else { setTimeout(check, 100); } };
          check();
        })
        """;
}
