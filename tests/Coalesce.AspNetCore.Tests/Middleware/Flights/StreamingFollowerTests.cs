using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.Builder;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;

namespace Coalesce.AspNetCore.Tests.Middleware.Flights;

/// <summary>
/// Followers get the leader's status and headers when its response starts and its bytes as they are written, on real
/// Kestrel over loopback; a follower whose response cannot be finished is aborted, never handed a short one.
/// </summary>
public sealed class StreamingFollowerTests
{
    private const int Followers = 20;

    /// <summary>An endpoint that writes its first part, then waits for the test before the second.</summary>
    private sealed class TwoParts
    {
        public Gate Start { get; } = new();

        public TaskCompletionSource Rest { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task WriteAsync(HttpContext context, string first = "first part;", string rest = "the rest.", Func<HttpContext, Task>? between = null)
        {
            await Start.EnterAndWaitAsync(context.RequestAborted);
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(first, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await Rest.Task.WaitAsync(context.RequestAborted);
            if (between is not null)
            {
                await between(context);
            }

            await context.Response.WriteAsync(rest, context.RequestAborted);
        }
    }

    private static Task<TestApp> StartAsync(Action<WebApplication> map, Action<RequestCoalescingOptions>? configure = null) =>
        TestApp.StartAsync(map, o => { o.EmitCacheStatus = true; configure?.Invoke(o); }, kestrel: true);

    private static async Task<string> ReadAtLeastAsync(Stream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer).AsTask().WaitAsync(TestApp.Patience);
        return Encoding.UTF8.GetString(buffer);
    }

    [Fact]
    public async Task Followers_get_the_first_bytes_while_the_leader_is_still_writing_and_one_execution_serves_all()
    {
        var endpoint = new TwoParts();
        await using var app = await StartAsync(a => a.MapGet("/report", (Func<HttpContext, Task>)(c => endpoint.WriteAsync(c))));

        var leader = app.Client.GetAsync("/report", HttpCompletionOption.ResponseHeadersRead);
        await endpoint.Start.WaitForExecutionsAsync(1);
        var followers = Enumerable.Range(0, Followers).Select(_ => app.Client.GetAsync("/report", HttpCompletionOption.ResponseHeadersRead)).ToArray();
        await app.WaitForFollowersAsync(Followers);
        endpoint.Start.Open();

        // Every follower has its headers and the first part while the leader has not written the rest.
        var responses = await Task.WhenAll(followers).WaitAsync(TestApp.Patience);
        var streams = new List<Stream>();
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("collapsed", string.Join(",", response.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.Equal("first part;", await ReadAtLeastAsync(stream, "first part;".Length));
            streams.Add(stream);
        }

        Assert.False(endpoint.Rest.Task.IsCompleted);
        endpoint.Rest.SetResult();
        foreach (var stream in streams)
        {
            Assert.Equal("the rest.", await new StreamReader(stream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        }

        Assert.Equal("first part;the rest.", await (await leader).Content.ReadAsStringAsync());
        Assert.Equal(1, endpoint.Start.Executions);
        Assert.Equal(Followers, app.Streamed);
        var counts = Assert.Single(app.Stats.GetSnapshot().Endpoints, e => e.Route == "/report");
        Assert.Equal(Followers, counts.Streamed);
        Assert.Equal(Followers, counts.Collapsed);
    }

    [Fact]
    public async Task A_follower_that_joins_after_the_first_bytes_reads_the_body_from_its_start()
    {
        var endpoint = new TwoParts();
        await using var app = await StartAsync(a => a.MapGet("/report", (Func<HttpContext, Task>)(c => endpoint.WriteAsync(c))));

        var leader = app.Client.GetAsync("/report", HttpCompletionOption.ResponseHeadersRead);
        await endpoint.Start.WaitForExecutionsAsync(1);
        var early = app.Client.GetAsync("/report", HttpCompletionOption.ResponseHeadersRead);
        await app.WaitForFollowersAsync(1);
        endpoint.Start.Open();
        var earlyStream = await (await early.WaitAsync(TestApp.Patience)).Content.ReadAsStreamAsync();
        Assert.Equal("first part;", await ReadAtLeastAsync(earlyStream, "first part;".Length));

        var late = await app.Client.GetAsync("/report", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestApp.Patience);
        var lateStream = await late.Content.ReadAsStreamAsync();
        Assert.Equal("first part;", await ReadAtLeastAsync(lateStream, "first part;".Length));
        endpoint.Rest.SetResult();

        Assert.Equal("the rest.", await new StreamReader(lateStream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        Assert.Equal("the rest.", await new StreamReader(earlyStream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        await (await leader).Content.ReadAsStringAsync();
        Assert.Equal(1, endpoint.Start.Executions);
    }

    [Fact]
    public async Task A_follower_that_joins_after_a_leader_began_writing_alone_streams_from_its_next_write_even_past_the_bound()
    {
        var rest = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executions = 0;
        var big = new string('b', 200_000);
        await using var app = await StartAsync(
            a => a.MapGet("/export", async (HttpContext c) =>
            {
                Interlocked.Increment(ref executions);
                await c.Response.WriteAsync("first part;", c.RequestAborted);
                await c.Response.Body.FlushAsync(c.RequestAborted);
                await rest.Task.WaitAsync(c.RequestAborted);
                await c.Response.WriteAsync(big, c.RequestAborted);
            }),
            o => o.MaxBufferedBodyBytes = 64 * 1024);                   // the whole body is past it: it is never replayed

        var leader = await app.Client.GetAsync("/export", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestApp.Patience);
        var leaderStream = await leader.Content.ReadAsStreamAsync();
        Assert.Equal("first part;", await ReadAtLeastAsync(leaderStream, "first part;".Length));
        var follower = app.Client.GetAsync("/export", HttpCompletionOption.ResponseHeadersRead);
        await app.WaitForFollowersAsync(1);
        rest.SetResult();

        var body = await (await follower.WaitAsync(TestApp.Patience)).Content.ReadAsStringAsync().WaitAsync(TestApp.Patience);
        Assert.Equal("first part;" + big, body);
        Assert.Equal(big, await new StreamReader(leaderStream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        Assert.Equal(1, executions);
        Assert.Equal(1, app.Streamed);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task When_the_leader_fails_mid_body_every_streaming_follower_sees_a_failed_transfer_never_a_short_response(bool contentLength)
    {
        var endpoint = new TwoParts();
        await using var app = await StartAsync(a => a.MapGet("/export", (Func<HttpContext, Task>)(c =>
        {
            if (contentLength)
            {
                c.Response.ContentLength = "first part;the rest.".Length;
            }

            return endpoint.WriteAsync(c, between: _ => throw new InvalidOperationException("the export broke"));
        })).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5))));

        var leader = app.Client.GetAsync("/export", HttpCompletionOption.ResponseHeadersRead);
        await endpoint.Start.WaitForExecutionsAsync(1);
        var followers = Enumerable.Range(0, 5).Select(_ => app.Client.GetAsync("/export", HttpCompletionOption.ResponseHeadersRead)).ToArray();
        await app.WaitForFollowersAsync(5);
        endpoint.Start.Open();
        var streams = new List<Stream>();
        foreach (var response in await Task.WhenAll(followers).WaitAsync(TestApp.Patience))
        {
            var stream = await response.Content.ReadAsStreamAsync();
            Assert.Equal("first part", await ReadAtLeastAsync(stream, "first part".Length));
            streams.Add(stream);
        }

        endpoint.Rest.SetResult();

        foreach (var stream in streams)
        {
            // HttpClient reports a cut transfer (Content-Length not reached, or no final chunk) as an IOException.
            await Assert.ThrowsAnyAsync<IOException>(() => new StreamReader(stream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        }

        await Assert.ThrowsAnyAsync<Exception>(async () => await (await leader).Content.ReadAsStringAsync().WaitAsync(TestApp.Patience));
        Assert.Equal(1, endpoint.Start.Executions);
        Assert.Equal(0, app.Cache.Count);                    // nothing stored
    }

    [Fact]
    public async Task Conditional_ranged_and_HEAD_requests_joining_a_streaming_flight_get_exactly_their_own_answers()
    {
        var endpoint = new TwoParts();
        await using var app = await StartAsync(a => a.MapMethods("/doc", ["GET", "HEAD"], (Func<HttpContext, Task>)(c =>
        {
            c.Response.Headers.ETag = "\"v1\"";
            c.Response.Headers.AcceptRanges = "bytes";
            c.Response.ContentLength = "first part;the rest.".Length;
            return HttpMethods.IsHead(c.Request.Method) ? Task.CompletedTask : endpoint.WriteAsync(c);
        })));

        var leader = app.Client.GetAsync("/doc", HttpCompletionOption.ResponseHeadersRead);
        await endpoint.Start.WaitForExecutionsAsync(1);
        var plain = app.Client.GetAsync("/doc", HttpCompletionOption.ResponseHeadersRead);
        var conditional = new HttpRequestMessage(HttpMethod.Get, "/doc");
        conditional.Headers.TryAddWithoutValidation("If-None-Match", "\"v1\"");
        var notModified = app.Client.SendAsync(conditional);
        var ranged = new HttpRequestMessage(HttpMethod.Get, "/doc");
        ranged.Headers.TryAddWithoutValidation("Range", "bytes=0-4");
        var range = app.Client.SendAsync(ranged);
        await app.WaitForFollowersAsync(3);
        endpoint.Start.Open();
        var plainStream = await (await plain.WaitAsync(TestApp.Patience)).Content.ReadAsStreamAsync();
        Assert.Equal("first part;", await ReadAtLeastAsync(plainStream, "first part;".Length));
        Assert.False(notModified.IsCompleted || range.IsCompleted);     // they wait for the whole response, to be answered from it
        endpoint.Rest.SetResult();

        Assert.Equal("the rest.", await new StreamReader(plainStream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        Assert.Equal(HttpStatusCode.NotModified, (await notModified.WaitAsync(TestApp.Patience)).StatusCode);
        var partial = await range.WaitAsync(TestApp.Patience);
        Assert.Equal(HttpStatusCode.PartialContent, partial.StatusCode);
        Assert.Equal("first", await partial.Content.ReadAsStringAsync());
        using var head = await app.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/doc"));
        Assert.Equal("first part;the rest.".Length, head.Content.Headers.ContentLength);
        await (await leader).Content.ReadAsStringAsync();
        Assert.Equal(1, endpoint.Start.Executions);
        Assert.Equal(1, app.Streamed);
    }

    [Fact]
    public async Task A_follower_whose_input_read_before_the_headers_differs_never_streams_and_gets_its_own_answer()
    {
        var endpoint = new TwoParts();
        await using var app = await StartAsync(a => a.MapGet("/dashboard", (Func<HttpContext, Task>)(c =>
        {
            var tenant = c.Request.Headers["X-Tenant"].ToString();
            return endpoint.WriteAsync(c, first: $"tenant {tenant};");
        })));

        var leader = Send(app, "/dashboard", "acme");
        await endpoint.Start.WaitForExecutionsAsync(1);
        var same = Send(app, "/dashboard", "acme");
        var other = Send(app, "/dashboard", "globex");
        await app.WaitForFollowersAsync(2);
        endpoint.Start.Open();
        var sameStream = await (await same.WaitAsync(TestApp.Patience)).Content.ReadAsStreamAsync();
        Assert.Equal("tenant acme;", await ReadAtLeastAsync(sameStream, "tenant acme;".Length));   // streamed, not replayed
        endpoint.Rest.SetResult();

        Assert.Equal("the rest.", await new StreamReader(sameStream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        Assert.Equal("tenant globex;the rest.", await (await other.WaitAsync(TestApp.Patience)).Content.ReadAsStringAsync());
        Assert.Equal("tenant acme;the rest.", await (await leader).Content.ReadAsStringAsync());
        Assert.Equal(1, app.Streamed);
    }

    [Fact]
    public async Task A_follower_whose_input_read_after_the_headers_differs_is_aborted_before_its_last_byte()
    {
        var endpoint = new TwoParts();
        await using var app = await StartAsync(a => a.MapGet("/late", (Func<HttpContext, Task>)(c =>
            endpoint.WriteAsync(c, rest: "x", between: ctx =>
            {
                // Read after the response started: only the end of the leader's run shows it.
                _ = ctx.Request.Headers["X-Tenant"].ToString();
                return Task.CompletedTask;
            }))));

        var leader = Send(app, "/late", "acme");
        await endpoint.Start.WaitForExecutionsAsync(1);
        var same = Send(app, "/late", "acme");
        var other = Send(app, "/late", "globex");
        await app.WaitForFollowersAsync(2);
        endpoint.Start.Open();
        var otherStream = await (await other.WaitAsync(TestApp.Patience)).Content.ReadAsStreamAsync();
        Assert.Equal("first part", await ReadAtLeastAsync(otherStream, "first part".Length));
        endpoint.Rest.SetResult();

        Assert.Equal("first part;x", await (await same.WaitAsync(TestApp.Patience)).Content.ReadAsStringAsync());
        await Assert.ThrowsAnyAsync<IOException>(() => new StreamReader(otherStream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        Assert.Equal("first part;x", await (await leader).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_follower_that_falls_further_behind_than_the_lag_is_aborted_while_a_reading_one_gets_every_byte()
    {
        const int Chunk = 64 * 1024;
        const int Chunks = 768;                                          // 48 MiB: far more than loopback socket buffers hold
        var gate = new Gate();
        var attached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await StartAsync(
            a => a.MapGet("/big", async (HttpContext c) =>
            {
                await gate.EnterAndWaitAsync(c.RequestAborted);
                c.Response.ContentLength = (long)Chunk * Chunks;
                var chunk = new byte[Chunk];
                for (var i = 0; i < Chunks; i++)
                {
                    chunk.AsSpan().Fill((byte)i);
                    await c.Response.Body.WriteAsync(chunk, c.RequestAborted);
                    if (i == 0)
                    {
                        // Both followers have the headers and stream before the body outgrows what is kept from its start.
                        await attached.Task.WaitAsync(c.RequestAborted);
                    }
                }
            }),
            o => (o.MaxBufferedBodyBytes, o.MaxFollowerLagBytes) = (256 * 1024, 16 * 1024 * 1024));

        var leader = app.Client.GetAsync("/big", HttpCompletionOption.ResponseHeadersRead);
        await gate.WaitForExecutionsAsync(1);
        var reading = app.Client.GetAsync("/big", HttpCompletionOption.ResponseHeadersRead);
        var stalled = app.Client.GetAsync("/big", HttpCompletionOption.ResponseHeadersRead);
        await app.WaitForFollowersAsync(2);
        gate.Open();
        await TestApp.WaitUntilAsync(() => app.Streamed == 2, "2 streaming followers");
        attached.SetResult();

        var leaderBody = ReadAllAsync(await leader.WaitAsync(TestApp.Patience));
        var readingProgress = new StrongBox<long>();
        var readingBody = ReadAllAsync(await reading.WaitAsync(TestApp.Patience), readingProgress);
        var stalledResponse = await stalled.WaitAsync(TestApp.Patience);

        // Past the bound (the body kept from its start), a request that comes now is not given what is left of it: it
        // runs on its own and gets the whole body.
        await TestApp.WaitUntilAsync(() => Volatile.Read(ref readingProgress.Value) > 1024 * 1024, "the body past its bound");
        var late = ReadAllAsync(await app.Client.GetAsync("/big", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TestApp.Patience));
        Assert.Equal((long)Chunk * Chunks, await leaderBody);
        Assert.Equal((long)Chunk * Chunks, await readingBody);

        // Only now does the stalled client read: its transfer was cut when it fell behind.
        await Assert.ThrowsAnyAsync<IOException>(() => ReadAllAsync(stalledResponse));
        Assert.Equal((long)Chunk * Chunks, await late);
        Assert.Equal(2, gate.Executions);
    }

    [Fact]
    public async Task A_response_that_turns_into_a_stream_after_followers_got_its_headers_finishes_for_them_and_takes_no_one_new()
    {
        var endpoint = new TwoParts();
        await using var app = await StartAsync(a => a.MapGet("/feed", (Func<HttpContext, Task>)(c =>
            endpoint.WriteAsync(c, between: ctx =>
            {
                ctx.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()!.DisableBuffering();
                return Task.CompletedTask;
            }))));

        var leader = app.Client.GetAsync("/feed", HttpCompletionOption.ResponseHeadersRead);
        await endpoint.Start.WaitForExecutionsAsync(1);
        var follower = app.Client.GetAsync("/feed", HttpCompletionOption.ResponseHeadersRead);
        await app.WaitForFollowersAsync(1);
        endpoint.Start.Open();
        var followerStream = await (await follower.WaitAsync(TestApp.Patience)).Content.ReadAsStreamAsync();
        Assert.Equal("first part;", await ReadAtLeastAsync(followerStream, "first part;".Length));
        endpoint.Rest.SetResult();

        Assert.Equal("the rest.", await new StreamReader(followerStream).ReadToEndAsync().WaitAsync(TestApp.Patience));
        Assert.Equal("first part;the rest.", await (await leader).Content.ReadAsStringAsync());
        Assert.Equal(1, endpoint.Start.Executions);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Behind_response_compression_each_follower_streams_its_own_encoding_and_a_memoized_endpoint_keeps_the_whole_body(bool compressionInside)
    {
        var endpoint = new TwoParts();
        var rest = new string('r', 4000);
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/doc", (Func<HttpContext, Task>)(c => endpoint.WriteAsync(c, rest: rest))).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5))),
            o => o.EmitCacheStatus = true,
            beforeCoalescing: compressionInside ? null : a => a.UseResponseCompression(),
            afterCoalescing: compressionInside ? a => a.UseResponseCompression() : null,
            services: s => s.AddResponseCompression(o => o.Providers.Add<GzipCompressionProvider>()),
            kestrel: true);

        var leader = SendGzip(app);
        await endpoint.Start.WaitForExecutionsAsync(1);
        var followers = Enumerable.Range(0, 5).Select(_ => SendGzip(app)).ToArray();
        await app.WaitForFollowersAsync(5);
        endpoint.Start.Open();
        var responses = await Task.WhenAll(followers).WaitAsync(TestApp.Patience);
        await TestApp.WaitUntilAsync(() => app.Streamed == 5, "5 streaming followers");
        endpoint.Rest.SetResult();

        foreach (var response in responses.Append(await leader))
        {
            Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));
            Assert.Equal("first part;" + rest, await GunzipAsync(response));
        }

        // The memoized copy is the whole body, and a later request is answered from it.
        using var hit = await SendGzip(app);
        Assert.Contains("hit", string.Join(",", hit.Headers.GetValues("Cache-Status")), StringComparison.Ordinal);
        Assert.Equal("first part;" + rest, await GunzipAsync(hit));
        Assert.Equal(1, endpoint.Start.Executions);
    }

    private static Task<HttpResponseMessage> SendGzip(TestApp app)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/doc");
        request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        return app.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task<string> GunzipAsync(HttpResponseMessage response)
    {
        await using var gzip = new GZipStream(await response.Content.ReadAsStreamAsync(), CompressionMode.Decompress);
        return await new StreamReader(gzip).ReadToEndAsync().WaitAsync(TestApp.Patience);
    }

    private static async Task<long> ReadAllAsync(HttpResponseMessage response, StrongBox<long>? progress = null)
    {
        var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TestApp.Patience)) > 0)
        {
            total += read;
            if (progress is not null)
            {
                Volatile.Write(ref progress.Value, total);
            }
        }

        return total;
    }

    private static Task<HttpResponseMessage> Send(TestApp app, string url, string tenant)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Tenant", tenant);
        return app.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }
}
