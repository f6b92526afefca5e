using Microsoft.AspNetCore.Builder;
using Xunit.Abstractions;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>The memo cache's byte bound holds the process's memory down, not only the cache's own figure.</summary>
[Collection(nameof(HeapMeasurement))]
public sealed class MemoFloodTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Flooding_a_memoized_endpoint_with_distinct_query_strings_keeps_the_heap_within_MemoMaxBytes()
    {
        const long Bound = 20L * 1024 * 1024;
        const long Slack = 8L * 1024 * 1024;
        const int Requests = 2_000;
        var body = new string('x', 200 * 1024);
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/report", () => body).WithCoalescing(p => p.Memoize(TimeSpan.FromHours(1))),
            o => o.MemoMaxBytes = Bound);
        var evictions = 0;
        app.Cache.Evicted += (_, e) => Interlocked.Increment(ref evictions);
        await app.Client.GetStringAsync("/report?warm-up");
        await app.Cache.ClearAsync();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        // Two at a time: both cores busy, and every request a miss with a key nobody asked for before.
        await Parallel.ForAsync(0, Requests, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (i, ct) =>
        {
            using var response = await app.Client.GetAsync($"/report?page={i}", ct);
            response.EnsureSuccessStatusCode();
            Assert.Equal(body.Length, (await response.Content.ReadAsByteArrayAsync(ct)).Length);
        });

        var stats = app.Cache.GetStats();
        var heapGrowth = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        await app.Cache.ClearAsync();
        var heapAfterClear = GC.GetTotalMemory(forceFullCollection: true) - heapBefore;
        output.WriteLine($"entries {stats.Size}, cache bytes {stats.ApproximateBytes:N0}, evictions {stats.Evictions}, heap growth {heapGrowth:N0}, after clearing {heapAfterClear:N0}");

        Assert.InRange(stats.ApproximateBytes, Bound - (400 * 1024), Bound); // full, but never past the bound
        Assert.InRange(stats.Size, 95, 105);                                  // ~205 KB each
        Assert.Equal(Requests - stats.Size, evictions);
        Assert.Equal(Requests - stats.Size, stats.Evictions);
        Assert.InRange(heapGrowth, 0, Bound + Slack);

        // Nothing else holds on to evicted or cleared responses.
        Assert.InRange(heapAfterClear, long.MinValue, Slack);
        GC.KeepAlive(app);
    }
}
