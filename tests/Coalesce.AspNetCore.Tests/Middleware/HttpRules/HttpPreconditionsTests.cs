using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// Range and conditional requests on real Kestrel: the shared execution is always unconditional and unranged,
/// and each client's own range and validators are answered for it — never another client's 206 or 304.
/// </summary>
public sealed class HttpPreconditionsTests
{
    private static readonly byte[] Data = [.. Enumerable.Range(0, 100).Select(i => (byte)i)];
    private static readonly DateTimeOffset Modified = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_running_flight_answers_plain_ranged_and_conditional_followers_each_for_their_own_request()
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate, memoize: false);

        var leader = SendAsync(app, "/file");
        await gate.WaitForExecutionsAsync(1);
        var plain = Enumerable.Range(0, 5).Select(_ => SendAsync(app, "/file")).ToArray();
        var ranged = SendAsync(app, "/file", r => r.Headers.Range = new RangeHeaderValue(0, 9));
        var suffix = SendAsync(app, "/file", r => r.Headers.Range = new RangeHeaderValue(null, 5));
        var notModified = SendAsync(app, "/file", r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v1\"")));
        var changed = SendAsync(app, "/file", r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v0\"")));
        await app.WaitForFollowersAsync(9);
        gate.Open();

        foreach (var response in await Task.WhenAll(plain.Append(leader)))
        {
            Assert.Equal(HttpStatusCode.OK, response.Status);
            Assert.Equal(Data, response.Body);
        }

        var range = await ranged;
        Assert.Equal(HttpStatusCode.PartialContent, range.Status);
        Assert.Equal(Data[..10], range.Body);
        Assert.Equal("bytes 0-9/100", range.ContentRange);
        Assert.Equal(Data[95..], (await suffix).Body);
        Assert.Equal(HttpStatusCode.NotModified, (await notModified).Status);
        Assert.Empty((await notModified).Body);
        Assert.Equal("\"v1\"", (await notModified).ETag);
        Assert.Equal(Data, (await changed).Body);
        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task A_ranged_or_conditional_request_never_leads_so_plain_requests_after_it_get_the_whole_body()
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate, memoize: false);

        var ranged = SendAsync(app, "/file", r => r.Headers.Range = new RangeHeaderValue(10, 19));
        var conditional = SendAsync(app, "/file", r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v1\"")));
        await gate.WaitForExecutionsAsync(2);
        var plain = Enumerable.Range(0, 5).Select(_ => SendAsync(app, "/file")).ToArray();
        await gate.WaitForExecutionsAsync(3);
        await app.WaitForFollowersAsync(4);
        gate.Open();

        Assert.All(await Task.WhenAll(plain), r => Assert.Equal(Expect(HttpStatusCode.OK, Data), Pick(r)));
        Assert.Equal(Data[10..20], (await ranged).Body);
        Assert.Equal(HttpStatusCode.NotModified, (await conditional).Status);
        Assert.Equal(3, gate.Executions);
    }

    [Fact]
    public async Task A_memoized_response_serves_ranges_and_validators_as_the_endpoint_would()
    {
        var gate = new Gate();
        gate.Open();
        await using var app = await StartAsync(gate, memoize: true);

        // A ranged request first runs alone and keeps nothing; a plain one is kept whole.
        Assert.Equal(HttpStatusCode.PartialContent, (await SendAsync(app, "/file", r => r.Headers.Range = new RangeHeaderValue(0, 0))).Status);
        Assert.Equal(Expect(HttpStatusCode.OK, Data), Pick(await SendAsync(app, "/file")));
        Assert.Equal(2, gate.Executions);

        var range = await SendAsync(app, "/file", r => r.Headers.Range = new RangeHeaderValue(90, 200));
        Assert.Equal(Expect(HttpStatusCode.PartialContent, Data[90..]), Pick(range));
        Assert.Equal("bytes 90-99/100", range.ContentRange);

        var unsatisfiable = await SendAsync(app, "/file", r => r.Headers.Range = new RangeHeaderValue(500, null));
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, unsatisfiable.Status);
        Assert.Equal("bytes */100", unsatisfiable.ContentRange);

        var several = await SendAsync(app, "/file", r => r.Headers.TryAddWithoutValidation("Range", "bytes=0-1,5-6"));
        Assert.Equal(Expect(HttpStatusCode.OK, Data), Pick(several));

        var staleIfRange = await SendAsync(app, "/file", r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 9);
            r.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"v0\""));
        });
        Assert.Equal(Expect(HttpStatusCode.OK, Data), Pick(staleIfRange));

        var freshIfRange = await SendAsync(app, "/file", r =>
        {
            r.Headers.Range = new RangeHeaderValue(0, 9);
            r.Headers.IfRange = new RangeConditionHeaderValue(new EntityTagHeaderValue("\"v1\""));
        });
        Assert.Equal(Expect(HttpStatusCode.PartialContent, Data[..10]), Pick(freshIfRange));

        Assert.Equal(HttpStatusCode.NotModified, (await SendAsync(app, "/file", r => r.Headers.IfModifiedSince = Modified)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(app, "/file", r => r.Headers.IfModifiedSince = Modified.AddSeconds(-1))).Status);
        Assert.Equal(2, gate.Executions);
    }

    public static TheoryData<string, Action<HttpRequestMessage>, HttpStatusCode> Validators => new()
    {
        { "matching If-None-Match", r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v1\"")), HttpStatusCode.NotModified },
        { "weakly matching If-None-Match", r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v1\"", isWeak: true)), HttpStatusCode.NotModified },
        { "If-None-Match: *", r => r.Headers.TryAddWithoutValidation("If-None-Match", "*"), HttpStatusCode.NotModified },
        { "other If-None-Match", r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v2\"")), HttpStatusCode.OK },
        { "If-Modified-Since at Last-Modified", r => r.Headers.IfModifiedSince = Modified, HttpStatusCode.NotModified },
        { "If-Modified-Since before Last-Modified", r => r.Headers.IfModifiedSince = Modified.AddDays(-1), HttpStatusCode.OK },
        { "If-Modified-Since in the future", r => r.Headers.IfModifiedSince = DateTimeOffset.UtcNow.AddYears(1), HttpStatusCode.OK },
        { "matching If-Match", r => r.Headers.IfMatch.Add(new EntityTagHeaderValue("\"v1\"")), HttpStatusCode.OK },
        { "weak If-Match", r => r.Headers.IfMatch.Add(new EntityTagHeaderValue("\"v1\"", isWeak: true)), HttpStatusCode.PreconditionFailed },
        { "other If-Match", r => r.Headers.IfMatch.Add(new EntityTagHeaderValue("\"v2\"")), HttpStatusCode.PreconditionFailed },
        { "If-Unmodified-Since after Last-Modified", r => r.Headers.IfUnmodifiedSince = Modified.AddDays(1), HttpStatusCode.OK },
        { "If-Unmodified-Since before Last-Modified", r => r.Headers.IfUnmodifiedSince = Modified.AddDays(-1), HttpStatusCode.PreconditionFailed },
        { "If-None-Match wins over If-Modified-Since", r =>
            {
                r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v2\""));
                r.Headers.IfModifiedSince = Modified;
            }, HttpStatusCode.OK },
    };

    [Theory]
    [MemberData(nameof(Validators))]
    public async Task Memo_hits_answer_each_clients_validators_even_when_the_endpoint_itself_ignores_them(
        string validator, Action<HttpRequestMessage> conditional, HttpStatusCode expected)
    {
        _ = validator;
        var gate = new Gate();
        gate.Open();
        await using var app = await StartAsync(gate, memoize: true);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(app, "/tagged")).Status);

        var response = await SendAsync(app, "/tagged", conditional);

        Assert.Equal(expected, response.Status);
        Assert.Equal(expected == HttpStatusCode.OK ? "tagged text"u8.ToArray() : [], response.Body);
        Assert.Equal("\"v1\"", response.ETag);
        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task An_unconditional_follower_never_gets_a_304_or_a_206()
    {
        var gate = new Gate();
        await using var app = await StartAsync(gate, memoize: true);

        // The conditional and ranged clients come first; they run alone, the plain ones share one execution.
        var first = new[]
        {
            SendAsync(app, "/tagged", r => r.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"v1\""))),
            SendAsync(app, "/tagged", r => r.Headers.Range = new RangeHeaderValue(0, 1)),
        };
        await gate.WaitForExecutionsAsync(2);
        var plain = Enumerable.Range(0, 6).Select(_ => SendAsync(app, "/tagged")).ToArray();
        await gate.WaitForExecutionsAsync(3);
        await app.WaitForFollowersAsync(5);
        gate.Open();

        Assert.All(await Task.WhenAll(plain), r => Assert.Equal(Expect(HttpStatusCode.OK, "tagged text"u8.ToArray()), Pick(r)));
        Assert.All(await Task.WhenAll(first), r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(app, "/tagged")).Status);
        Assert.Equal(3, gate.Executions);
    }

    private static (HttpStatusCode, string) Pick(Reply reply) => (reply.Status, Convert.ToHexString(reply.Body));

    private static (HttpStatusCode, string) Expect(HttpStatusCode status, byte[] body) => (status, Convert.ToHexString(body));

    private static Task<TestApp> StartAsync(Gate gate, bool memoize) => TestApp.StartAsync(
        a =>
        {
            var file = a.MapGet("/file", async () =>
            {
                await gate.EnterAndWaitAsync();
                return Results.Bytes(Data, "application/octet-stream", lastModified: Modified,
                    entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue("\"v1\""), enableRangeProcessing: true);
            });

            // Sets validators but, like most handlers, never looks at the request's.
            var tagged = a.MapGet("/tagged", async (HttpContext ctx) =>
            {
                await gate.EnterAndWaitAsync();
                ctx.Response.Headers.ETag = "\"v1\"";
                ctx.Response.Headers.LastModified = Modified.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                ctx.Response.ContentType = "text/plain";
                await ctx.Response.WriteAsync("tagged text");
            });

            if (memoize)
            {
                file.WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5)));
                tagged.WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5)));
            }
        },
        kestrel: true);

    internal static async Task<Reply> SendAsync(TestApp app, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        configure?.Invoke(request);
        using var response = await app.Client.SendAsync(request);
        return new Reply(
            response.StatusCode,
            await response.Content.ReadAsByteArrayAsync(),
            response.Content.Headers.ContentRange?.ToString(),
            response.Headers.ETag?.ToString());
    }

    internal sealed record Reply(HttpStatusCode Status, byte[] Body, string? ContentRange, string? ETag);
}
