using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Primitives;
using Xunit.Abstractions;

namespace Coalesce.AspNetCore.Tests.Middleware;

public sealed class MemoBoundTests
{
    [Fact]
    public void A_captured_response_counts_itself_its_body_its_header_array_and_every_name_and_value()
    {
        var response = new CapturedResponse(
            200,
            [new("Content-Type", "application/json"), new("X-Multi", new StringValues(["a", "bb"]))],
            new byte[1000],
            headContentLength: null);

        const long Self = 56;                 // 16 B header + two references, a long? and an int (36 B), rounded up
        const long Body = 1024;               // 24 B array header + 1000
        const long HeaderArray = 56;          // 24 B + 2 x (name reference + StringValues)
        const long ContentType = 48 + 56;     // "Content-Type" (22 + 24 B) and "application/json" (22 + 32 B), rounded up
        const long Multi = 40 + 40 + 24 + 32; // "X-Multi", the two-value array, "a" and "bb"

        Assert.Equal(Self + Body + HeaderArray + ContentType + Multi, response.ApproximateSize);
    }

    [Fact]
    public async Task The_apps_MemoCache_keeps_responses_up_to_MemoMaxEntryBytes_and_serves_larger_ones_without_keeping_them()
    {
        var executions = 0;
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/text/{length:int}", (int length) =>
            {
                Interlocked.Increment(ref executions);
                return new string('x', length);
            }).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5))),
            o => (o.MemoMaxBytes, o.MemoMaxEntryBytes) = (1 << 20, 4096));
        var rejected = new List<string>();
        app.Cache.Rejected += (_, e) => rejected.Add($"{e.Key.Contains("/text/5000", StringComparison.Ordinal)} {e.Size > 5000} {e.Limit}");

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(1000, (await app.Client.GetStringAsync("/text/1000")).Length);
            Assert.Equal(5000, (await app.Client.GetStringAsync("/text/5000")).Length);
        }

        Assert.Equal(3, executions); // 1000 once, 5000 twice
        var stats = app.Cache.GetStats();
        Assert.Equal((1, 2), (stats.Size, stats.Rejections));
        Assert.InRange(stats.ApproximateBytes, 1000, 4096);
        Assert.Equal(["True True 4096", "True True 4096"], rejected);
    }
}

/// <summary>Tests that read the process's managed heap, so nothing else may run beside them.</summary>
[CollectionDefinition(nameof(HeapMeasurement), DisableParallelization = true)]
public sealed class HeapMeasurement;

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
