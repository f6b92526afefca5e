using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Middleware;

public sealed class ReplayTests
{
    private const int Requests = 5;

    public enum WriteStyle
    {
        ResponseWriteAsync,
        BodyWriter,
        JsonResult,
        StreamResult,
        SendFile,
        Gzip,
    }

    [Theory]
    [InlineData(WriteStyle.ResponseWriteAsync)]
    [InlineData(WriteStyle.BodyWriter)]
    [InlineData(WriteStyle.JsonResult)]
    [InlineData(WriteStyle.StreamResult)]
    [InlineData(WriteStyle.SendFile)]
    [InlineData(WriteStyle.Gzip)]
    public async Task Followers_replay_the_leaders_status_headers_and_bytes_whatever_way_it_wrote(WriteStyle style)
    {
        // Large and repetitive enough for the compression middleware to bother, unique per test run.
        var text = string.Concat(Enumerable.Repeat($"coalesce {Guid.NewGuid()} ", 200));
        var bytes = Encoding.UTF8.GetBytes(text);
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, bytes);
        try
        {
            var gate = new Gate();
            await using var app = await TestApp.StartAsync(
                a => a.MapGet("/replay", async (HttpContext ctx) =>
                {
                    var run = await gate.EnterAndWaitAsync();
                    ctx.Response.Headers["X-Run"] = run.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return await WriteAsync(ctx, style, text, bytes, file);
                }),
                afterCoalescing: style == WriteStyle.Gzip ? a => a.UseResponseCompression() : null,
                services: style == WriteStyle.Gzip ? s => s.AddResponseCompression(o => o.EnableForHttps = true) : null);

            var leader = Get(app, "/replay", gzip: style == WriteStyle.Gzip);
            await gate.WaitForExecutionsAsync(1);
            var followers = Enumerable.Range(1, Requests - 1).Select(_ => Get(app, "/replay", gzip: style == WriteStyle.Gzip)).ToArray();
            await app.WaitForFollowersAsync(Requests - 1);
            gate.Open();
            var responses = await Task.WhenAll([leader, .. followers]);

            Assert.Equal(1, gate.Executions);
            var leaderBody = await responses[0].Content.ReadAsByteArrayAsync();
            foreach (var response in responses)
            {
                var body = await response.Content.ReadAsByteArrayAsync();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal(leaderBody, body);
                Assert.Equal(responses[0].Content.Headers.ContentType, response.Content.Headers.ContentType);
                Assert.Equal(body.Length, response.Content.Headers.ContentLength);
                Assert.Equal(responses[0].Content.Headers.ContentLength, response.Content.Headers.ContentLength);
                Assert.Equal("1", Assert.Single(response.Headers.GetValues("X-Run")));
                AssertRight(style, response, body, text, bytes);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task HEAD_followers_get_the_leaders_headers_with_its_Content_Length_and_an_empty_body()
    {
        var gate = new Gate();
        var body = Encoding.UTF8.GetBytes("a body that only GET sends");
        await using var app = await TestApp.StartAsync(a => a.MapMethods("/doc", ["GET", "HEAD"], async (HttpContext ctx) =>
        {
            var run = await gate.EnterAndWaitAsync();
            ctx.Response.ContentType = "text/plain";
            ctx.Response.ContentLength = body.Length;
            ctx.Response.Headers.ETag = $"\"v{run}\"";
            if (!HttpMethods.IsHead(ctx.Request.Method))
            {
                await ctx.Response.Body.WriteAsync(body);
            }
        }));

        var leader = app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/doc"));
        await gate.WaitForExecutionsAsync(1);
        var followers = Enumerable.Range(1, Requests - 1).Select(_ => app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/doc"))).ToArray();
        await app.WaitForFollowersAsync(Requests - 1);
        gate.Open();
        var responses = await Task.WhenAll([leader, .. followers]);

        Assert.Equal(1, gate.Executions);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(body.Length, response.Content.Headers.ContentLength);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("\"v1\"", response.Headers.ETag?.Tag);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Headers_set_outside_the_middleware_stay_each_requests_own(bool setWhenResponseStarts)
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/tracked", async (HttpContext ctx) =>
            {
                await gate.EnterAndWaitAsync();
                ctx.Response.Headers["X-Handler"] = "set by the endpoint";
                return "same for everyone";
            }),
            beforeCoalescing: a => a.Use((ctx, next) =>
            {
                var id = Guid.NewGuid().ToString();
                if (setWhenResponseStarts)
                {
                    ctx.Response.OnStarting(() =>
                    {
                        ctx.Response.Headers["X-Request-Id"] = id;
                        return Task.CompletedTask;
                    });
                }
                else
                {
                    ctx.Response.Headers["X-Request-Id"] = id;
                }
                return next(ctx);
            }));

        var leader = app.Client.GetAsync("/tracked");
        await gate.WaitForExecutionsAsync(1);
        var followers = Enumerable.Range(1, Requests - 1).Select(_ => app.Client.GetAsync("/tracked")).ToArray();
        await app.WaitForFollowersAsync(Requests - 1);
        gate.Open();
        var responses = await Task.WhenAll([leader, .. followers]);

        Assert.Equal(1, gate.Executions);
        // Had the leader's id been replayed, followers would carry it instead of their own.
        var ids = responses.Select(r => Assert.Single(r.Headers.GetValues("X-Request-Id"))).ToList();
        Assert.Equal(Requests, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(Guid.TryParse(id, out _)));
        foreach (var response in responses)
        {
            Assert.Equal("same for everyone", await response.Content.ReadAsStringAsync());
            Assert.Equal("set by the endpoint", Assert.Single(response.Headers.GetValues("X-Handler")));
        }
    }

    private static Task<HttpResponseMessage> Get(TestApp app, string url, bool gzip)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (gzip)
        {
            request.Headers.AcceptEncoding.ParseAdd("gzip");
        }

        return app.Client.SendAsync(request);
    }

    private static async Task<IResult> WriteAsync(HttpContext ctx, WriteStyle style, string text, byte[] bytes, string file)
    {
        var response = ctx.Response;
        switch (style)
        {
            case WriteStyle.ResponseWriteAsync:
            case WriteStyle.Gzip:
                response.ContentType = "text/plain; charset=utf-8";
                await response.WriteAsync(text);
                return Results.Empty;
            case WriteStyle.BodyWriter:
                response.ContentType = "text/plain";
                response.ContentLength = bytes.Length;
                for (var offset = 0; offset < bytes.Length; offset += 1000)
                {
                    var chunk = bytes.AsSpan(offset, Math.Min(1000, bytes.Length - offset));
                    chunk.CopyTo(response.BodyWriter.GetSpan(chunk.Length));
                    response.BodyWriter.Advance(chunk.Length);
                    await response.BodyWriter.FlushAsync();
                }

                return Results.Empty;
            case WriteStyle.JsonResult:
                return Results.Json(new { text, number = 42 });
            case WriteStyle.StreamResult:
                return Results.Stream(new MemoryStream(bytes), "application/octet-stream");
            case WriteStyle.SendFile:
                response.ContentType = "text/plain";
                await response.SendFileAsync(file);
                return Results.Empty;
            default:
                throw new ArgumentOutOfRangeException(nameof(style));
        }
    }

    private static void AssertRight(WriteStyle style, HttpResponseMessage response, byte[] body, string text, byte[] bytes)
    {
        var contentType = response.Content.Headers.ContentType;
        switch (style)
        {
            case WriteStyle.ResponseWriteAsync:
                Assert.Equal("text/plain; charset=utf-8", contentType?.ToString());
                Assert.Equal(bytes, body);
                break;
            case WriteStyle.BodyWriter:
            case WriteStyle.SendFile:
                Assert.Equal("text/plain", contentType?.ToString());
                Assert.Equal(bytes, body);
                break;
            case WriteStyle.StreamResult:
                Assert.Equal("application/octet-stream", contentType?.ToString());
                Assert.Equal(bytes, body);
                break;
            case WriteStyle.JsonResult:
                Assert.Equal("application/json", contentType?.MediaType);
                using (var json = JsonDocument.Parse(body))
                {
                    Assert.Equal(text, json.RootElement.GetProperty("text").GetString());
                    Assert.Equal(42, json.RootElement.GetProperty("number").GetInt32());
                }

                break;
            case WriteStyle.Gzip:
                Assert.Equal("text/plain; charset=utf-8", contentType?.ToString());
                Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
                Assert.True(body.Length < bytes.Length / 4, $"expected a compressed body, got {body.Length} bytes");
                using (var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress))
                using (var plain = new MemoryStream())
                {
                    gzip.CopyTo(plain);
                    Assert.Equal(bytes, plain.ToArray());
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(style));
        }
    }
}
