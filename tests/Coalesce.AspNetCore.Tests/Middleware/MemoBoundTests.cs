using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Primitives;

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

        const long Self = 120;                // 16 B header + three references, a long?, two DateTimeOffset?, two ints, two bools (98 B), rounded up
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
