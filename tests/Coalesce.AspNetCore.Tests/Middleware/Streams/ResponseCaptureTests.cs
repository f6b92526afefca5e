using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// The capture of a leader's response, and whether followers may share it: cookies, a Vary outside the key, a body
/// over the buffer limit or shorter than its Content-Length send followers to run their own. Streams never hold
/// other clients back and are never kept: on real Kestrel, every client of an endless stream gets its first event
/// while the stream is still open.
/// </summary>
public sealed class ResponseCaptureTests
{
    private const int Requests = 5;

    public enum Kind
    {
        EventStream,
        DisableBuffering,
    }

    [Theory]
    [InlineData(Kind.EventStream, null)]
    [InlineData(Kind.EventStream, "text/event-stream")]
    [InlineData(Kind.DisableBuffering, null)]
    public async Task Every_client_of_an_endless_stream_gets_its_first_event_while_the_stream_is_open(Kind kind, string? accept)
    {
        var end = new Gate();
        await using var app = await StartAsync(kind, end, memoize: true);

        // Each client reads its first event; none of the streams has ended (the gate holds them all open).
        var readers = Enumerable.Range(0, 6).Select(_ => ReadFirstEventAsync(app, accept)).ToArray();
        var firstEvents = await Task.WhenAll(readers).WaitAsync(TestApp.Patience);

        Assert.All(firstEvents, e => Assert.StartsWith("data: event 1 of run ", e, StringComparison.Ordinal));
        Assert.Equal(6, end.Executions);
        end.Open();

        // Nothing was kept: the next client runs the stream again.
        await ReadFirstEventAsync(app, accept).WaitAsync(TestApp.Patience);
        Assert.Equal(7, end.Executions);
        Assert.Equal(0, app.Cache.Count);
    }

    [Theory]
    [InlineData(Kind.EventStream)]
    [InlineData(Kind.DisableBuffering)]
    public async Task Followers_waiting_for_a_leader_are_released_when_it_shows_it_streams(Kind kind)
    {
        var end = new Gate();
        var start = new Gate();
        await using var app = await StartAsync(kind, end, memoize: false, start);

        // The followers join before the leader's first byte, as they would for any response ...
        var leader = ReadFirstEventAsync(app, accept: null);
        await start.WaitForExecutionsAsync(1);
        var followers = Enumerable.Range(0, 3).Select(_ => ReadFirstEventAsync(app, accept: null)).ToArray();
        await app.WaitForFollowersAsync(3);

        // ... and are let go the moment it streams, while its stream stays open.
        start.Open();
        var events = await Task.WhenAll(followers.Append(leader)).WaitAsync(TestApp.Patience);
        Assert.Equal(4, events.Distinct().Count());
        Assert.Equal(4, end.Executions);
        end.Open();
    }

    [Fact]
    public async Task Followers_of_a_response_that_sets_a_cookie_run_their_own_and_new_arrivals_pass_through()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/login-ish", async (HttpContext ctx) =>
        {
            var run = await gate.EnterAndWaitAsync();
            ctx.Response.Cookies.Append("session", $"run-{run}");
            return $"run-{run}";
        }), o => o.PassThroughDuration = TimeSpan.FromSeconds(5));

        var requests = Enumerable.Range(0, 4).Select(_ => app.Client.GetAsync("/login-ish")).ToArray();
        await app.WaitForFollowersAsync(3);
        gate.Open();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(4, gate.Executions);
        var cookies = responses.Select(r => Assert.Single(r.Headers.GetValues("Set-Cookie"))).ToList();
        Assert.Equal(4, cookies.Distinct().Count());
        foreach (var response in responses)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.StartsWith($"session={body};", Assert.Single(response.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        }

        // The key now passes through: a second gated wave runs side by side instead of queueing.
        var blocked = new Gate();
        gate = blocked;
        var wave = Enumerable.Range(0, 3).Select(_ => app.Client.GetAsync("/login-ish")).ToArray();
        await blocked.WaitForExecutionsAsync(3);
        blocked.Open();
        await Task.WhenAll(wave);
        Assert.Equal(3, blocked.Executions);
    }

    [Fact]
    public async Task A_body_over_the_buffer_limit_streams_in_full_to_the_leader_and_to_the_followers_that_waited_for_it()
    {
        var gate = new Gate();
        var payload = new byte[64 * 1024];
        Random.Shared.NextBytes(payload);
        await using var app = await TestApp.StartAsync(a => a.MapGet("/big", async (HttpContext ctx) =>
        {
            await gate.EnterAndWaitAsync();
            ctx.Response.ContentType = "application/octet-stream";
            for (var offset = 0; offset < payload.Length; offset += 4096)
            {
                await ctx.Response.Body.WriteAsync(payload.AsMemory(offset, 4096));
            }
        }), o => o.MaxBufferedBodyBytes = 16 * 1024);

        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetByteArrayAsync("/big")).ToArray();
        await app.WaitForFollowersAsync(2);
        gate.Open();
        var bodies = await Task.WhenAll(requests);

        // Too large to replay, but the followers that joined while it was produced streamed it (before streaming to
        // followers, each ran its own request after waiting).
        Assert.Equal(1, gate.Executions);
        Assert.All(bodies, body => Assert.Equal(payload, body));
    }

    [Theory]
    [InlineData("X-Tenant", false)]
    [InlineData("*", false)]
    [InlineData("*", true)]
    [InlineData("Accept, X-Tenant", true)]
    public async Task A_response_that_varies_on_a_header_outside_the_key_is_not_shared(string vary, bool kestrel)
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/tenant", async (HttpContext ctx) =>
            {
                var run = await gate.EnterAndWaitAsync();
                ctx.Response.Headers.Vary = vary;
                return $"{ctx.Request.Headers["X-Tenant"]}|{run}";
            }),
            kestrel: kestrel);

        var requests = new List<Task<HttpResponseMessage>>();
        for (var i = 0; i < Requests; i++)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/tenant");
            request.Headers.Add("X-Tenant", $"tenant-{i}");
            requests.Add(app.Client.SendAsync(request));
            if (i == 0)
            {
                await gate.WaitForExecutionsAsync(1);
            }
        }

        // The others joined as followers (X-Tenant is not in the key), then ran their own once the answer said Vary.
        await app.WaitForFollowersAsync(Requests - 1);
        gate.Open();
        var responses = await Task.WhenAll(requests);

        Assert.Equal(Requests, gate.Executions);
        for (var i = 0; i < Requests; i++)
        {
            Assert.StartsWith($"tenant-{i}|", await responses[i].Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_body_shorter_than_its_declared_Content_Length_is_not_shared()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet("/truncated", async (HttpContext ctx) =>
        {
            await gate.EnterAndWaitAsync();
            ctx.Response.ContentLength = 100;
            await ctx.Response.Body.WriteAsync(new byte[50]);
        }));

        var leader = app.Client.GetAsync("/truncated", HttpCompletionOption.ResponseHeadersRead);
        await gate.WaitForExecutionsAsync(1);
        var followers = Enumerable.Range(1, Requests - 1).Select(_ => app.Client.GetAsync("/truncated", HttpCompletionOption.ResponseHeadersRead)).ToArray();
        await app.WaitForFollowersAsync(Requests - 1);
        gate.Open();
        foreach (var request in followers.Prepend(leader))
        {
            (await request).Dispose();
        }

        Assert.Equal(Requests, gate.Executions);
        Assert.Equal(0, app.Stats.GetSnapshot().Requests.Active);
    }

    private static Task<TestApp> StartAsync(Kind kind, Gate end, bool memoize, Gate? start = null) => TestApp.StartAsync(
        a =>
        {
            var stream = a.MapGet("/events", async (HttpContext ctx) =>
            {
                var run = end.Enter();
                if (start is not null)
                {
                    await start.EnterAndWaitAsync(ctx.RequestAborted);
                }

                if (kind == Kind.EventStream)
                {
                    ctx.Response.ContentType = "text/event-stream";
                }
                else
                {
                    ctx.Response.ContentType = "text/plain";
                    ctx.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
                }

                await ctx.Response.WriteAsync($"data: event 1 of run {run}\n\n");
                await ctx.Response.Body.FlushAsync();
                await end.WaitAsync(ctx.RequestAborted);
                await ctx.Response.WriteAsync("data: last\n\n");
            });
            if (memoize)
            {
                stream.WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(5)));
            }
        },
        kestrel: true);

    private static async Task<HttpResponseMessage> OpenAsync(TestApp app, string? accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/events");
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
        }

        return await app.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task<string> ReadFirstEventAsync(TestApp app, string? accept)
    {
        using var response = await OpenAsync(app, accept);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        return await reader.ReadLineAsync() ?? string.Empty;
    }
}
