using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore.Tests.Middleware;

/// <summary>
/// Streams never hold other clients back and are never kept: on real Kestrel, every client of an endless stream
/// gets its first event while the stream is still open.
/// </summary>
public sealed class StreamingTests
{
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

    private static Task<TestApp> StartAsync(Kind kind, Gate end, bool memoize, Gate? start = null) => TestApp.StartAsync(
        a =>
        {
            var stream = a.MapGet("/events", async (HttpContext ctx) =>
            {
                var run = end.Enter();
                if (start is not null)
                {
                    start.Enter();
                    await start.WaitAsync(ctx.RequestAborted);
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
