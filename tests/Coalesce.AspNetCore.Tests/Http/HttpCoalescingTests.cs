using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore.Tests.Http;

public class HttpCoalescingTests
{
    [Fact]
    public async Task Concurrent_identical_GETs_make_one_upstream_call_and_each_caller_owns_its_response()
    {
        var gate = new Gate();
        await using var upstream = await KestrelUpstream.StartAsync(app => app.MapGet("/weather", async (HttpContext context) =>
        {
            await gate.EnterAndWaitAsync(context.RequestAborted);
            context.Response.Headers["X-Upstream"] = Guid.NewGuid().ToString();
            return Results.Text("sunny and warm", "text/plain");
        }));
        var services = new ServiceCollection();
        services.AddHttpClient("weather", c => c.BaseAddress = upstream.Address).AddCoalescing();
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("weather");
        var registry = provider.GetRequiredService<CoalescingStatsRegistry>();
        HttpClientCounts Counts() => registry.GetSnapshot().HttpClients.Single();

        var calls = Enumerable.Range(0, 100)
            .Select(_ => client.GetAsync("/weather", HttpCompletionOption.ResponseHeadersRead))
            .ToArray();
        await TestApp.WaitUntilAsync(() => Counts().Hits == 99, "99 callers joining the flight");
        gate.Open();
        var responses = await Task.WhenAll(calls);

        Assert.Equal(1, gate.Executions);
        Assert.Equal(100, responses.Distinct().Count());
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(responses.Select(r => r.Headers.GetValues("X-Upstream").Single()).Distinct());
        Assert.Single(responses.Select(r => r.Content.Headers.ContentType!.ToString()).Distinct());

        // Reading and disposing one caller's response leaves every other one whole.
        Assert.Equal("sunny and warm", await responses[0].Content.ReadAsStringAsync());
        responses[0].Dispose();
        await using (var stream = await responses[1].Content.ReadAsStreamAsync())
        {
            Assert.Equal("sunny and warm", await new StreamReader(stream).ReadToEndAsync());
        }

        responses[1].Dispose();
        foreach (var response in responses.Skip(2))
        {
            Assert.Equal("sunny and warm", await response.Content.ReadAsStringAsync());
            Assert.NotNull(response.RequestMessage);
            response.Dispose();
        }

        var counts = Counts();
        Assert.Equal((99L, 1L, 0L, 0L), (counts.Hits, counts.Misses, counts.Errors, counts.Active));
    }

    [Fact]
    public async Task Each_caller_gets_its_own_request_as_the_responses_RequestMessage()
    {
        var gate = new Gate();
        var network = new ScriptedHandler(async _ =>
        {
            await gate.EnterAndWaitAsync();
            return ScriptedHandler.Respond(HttpStatusCode.OK, "x");
        });
        using var scripted = new ScriptedClient(network, ScriptedClient.Untimed);
        using var first = new HttpRequestMessage(HttpMethod.Get, "/a");
        using var second = new HttpRequestMessage(HttpMethod.Get, "/a");

        var calls = new[] { scripted.Client.SendAsync(first), scripted.Client.SendAsync(second) };
        await TestApp.WaitUntilAsync(() => scripted.Stats.Hits == 1, "a follower");
        gate.Open();
        var responses = await Task.WhenAll(calls);

        Assert.Same(first, responses[0].RequestMessage);
        Assert.Same(second, responses[1].RequestMessage);
        Assert.Equal(1, network.Count);
    }

    [Fact]
    public async Task Different_URIs_credentials_and_POSTs_are_never_shared()
    {
        var gate = new Gate();
        var network = new ScriptedHandler(async sent =>
        {
            await gate.EnterAndWaitAsync();
            return ScriptedHandler.Respond(HttpStatusCode.OK, $"{sent.Method} {sent.Uri.PathAndQuery} {sent.Headers.GetValueOrDefault("Authorization")}");
        });
        using var scripted = new ScriptedClient(network, ScriptedClient.Untimed);

        HttpRequestMessage Get(string path, string? authorization = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            return request;
        }

        HttpRequestMessage Post(string path) => new(HttpMethod.Post, path) { Content = new StringContent("{}") };

        var calls = new[]
        {
            Get("/a"), Get("/b"), Get("/a?page=2"), Get("/a", "Bearer alice"), Get("/a", "Bearer bob"), Post("/a"), Post("/a"),
            Get("/a", "Bearer alice"),
        }.Select(r => scripted.Client.SendAsync(r)).ToArray();
        await network.WaitForCallsAsync(7);
        await TestApp.WaitUntilAsync(() => scripted.Stats.Hits == 1, "alice's duplicate joining her flight");
        gate.Open();
        var bodies = await Task.WhenAll(calls.Select(async c => await (await c).Content.ReadAsStringAsync()));

        Assert.Equal(7, network.Count);
        Assert.Equal("GET /a Bearer alice", bodies[3]);
        Assert.Equal("GET /a Bearer bob", bodies[4]);
        Assert.Equal(bodies[3], bodies[7]);
        Assert.Equal((1, 7), (scripted.Stats.Hits, scripted.Stats.Misses));
    }

    [Fact]
    public async Task A_caller_cancelling_leaves_the_shared_call_running_for_the_others()
    {
        var gate = new Gate();
        var network = new ScriptedHandler(async sent =>
        {
            await gate.EnterAndWaitAsync();
            return ScriptedHandler.Respond(HttpStatusCode.OK, "shared");
        });
        using var scripted = new ScriptedClient(network, ScriptedClient.Untimed);
        using var leaving = new CancellationTokenSource();

        var leaver = scripted.Client.GetAsync("/a", leaving.Token);
        var stayer = scripted.Client.GetAsync("/a");
        await TestApp.WaitUntilAsync(() => scripted.Stats.Hits == 1, "a follower");
        await leaving.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaver);
        Assert.False(network.Requests.Single().Token.IsCancellationRequested);
        gate.Open();
        Assert.Equal("shared", await (await stayer).Content.ReadAsStringAsync());
        Assert.Equal(0, scripted.Stats.Errors);
    }

    [Fact]
    public async Task Every_caller_cancelling_cancels_the_shared_call()
    {
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var network = new ScriptedHandler(async sent =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, sent.Token);
            }
            catch (OperationCanceledException)
            {
                cancelled.TrySetResult();
                throw;
            }

            return ScriptedHandler.Respond(HttpStatusCode.OK);
        });
        using var scripted = new ScriptedClient(network, ScriptedClient.Untimed);
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();

        var calls = new[] { scripted.Client.GetAsync("/a", first.Token), scripted.Client.GetAsync("/a", second.Token) };
        await TestApp.WaitUntilAsync(() => scripted.Stats.Hits == 1 && network.Count == 1, "a follower and the upstream call");
        await first.CancelAsync();
        Assert.False(cancelled.Task.IsCompleted);
        await second.CancelAsync();

        await cancelled.Task.WaitAsync(TestApp.Patience);
        foreach (var call in calls)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        }

        await TestApp.WaitUntilAsync(() => scripted.Stats.Active == 0, "the flight to end");
        Assert.Equal(0, scripted.Stats.Errors);
    }

    [Fact]
    public async Task Successful_GETs_are_memoized_for_the_TTL_under_their_tags()
    {
        var network = new ScriptedHandler(sent => ScriptedHandler.Respond(HttpStatusCode.OK, $"call {sent.Index}"));
        using var scripted = new ScriptedClient(network, o =>
        {
            ScriptedClient.Untimed(o);
            o.Memoize(TimeSpan.FromMinutes(1), "forecasts");
        });
        var cache = scripted.Services.GetRequiredService<MemoCache>();

        Assert.Equal("call 1", await scripted.Client.GetStringAsync("/forecast"));
        Assert.Equal("call 1", await scripted.Client.GetStringAsync("/forecast"));
        Assert.Equal(1, network.Count);
        Assert.Contains(cache.Keys(), k => k.StartsWith($"http:{ScriptedClient.Name}:", StringComparison.Ordinal));

        Assert.Equal(1, await cache.InvalidateByTagAsync("forecasts"));
        Assert.Equal("call 2", await scripted.Client.GetStringAsync("/forecast"));
        scripted.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        Assert.Equal("call 3", await scripted.Client.GetStringAsync("/forecast"));
        Assert.Equal((1, 3), (scripted.Stats.Hits, scripted.Stats.Misses));
    }

    [Fact]
    public async Task A_body_over_the_buffer_limit_goes_whole_to_one_caller_and_the_others_send_their_own()
    {
        var gate = new Gate();
        var body = new string('x', 100);
        var network = new ScriptedHandler(async _ =>
        {
            if (gate.Enter() == 1)
            {
                await gate.WaitAsync();
            }

            // A stream of unknown length, so the limit is found while reading.
            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new UnseekableStream(Encoding.UTF8.GetBytes(body))) };
            return response;
        });
        using var scripted = new ScriptedClient(network, o =>
        {
            ScriptedClient.Untimed(o);
            o.MaxResponseBodyBytes = 10;
        });

        var calls = new[] { scripted.Client.GetStringAsync("/big"), scripted.Client.GetStringAsync("/big") };
        await TestApp.WaitUntilAsync(() => scripted.Stats.Hits == 1, "a follower");
        gate.Open();

        Assert.Equal([body, body], await Task.WhenAll(calls));
        Assert.Equal(2, network.Count);
    }

    private sealed class UnseekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }

    [Fact]
    public async Task Calling_AddCoalescing_twice_keeps_one_handler_and_applies_both_configurations()
    {
        var network = new ScriptedHandler(_ => ScriptedHandler.Respond(HttpStatusCode.ServiceUnavailable));
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(new Coalesce.Testing.ManualTimeProvider());
        services.AddHttpClient("twice", c => c.BaseAddress = new Uri("http://primary.test/"))
            .AddCoalescing(ScriptedClient.Untimed)
            .AddCoalescing(o => o.Retry = null)
            .ConfigurePrimaryHttpMessageHandler(() => network);
        using var provider = services.BuildServiceProvider();
        using var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("twice");

        using var response = await client.GetAsync(new Uri("/items", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, network.Count);
        var stats = provider.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients.Single();
        Assert.Equal(1, stats.Misses);
    }

    [Fact]
    public async Task Typed_clients_get_the_handler_too()
    {
        var network = new ScriptedHandler(sent => ScriptedHandler.Respond(HttpStatusCode.OK, "typed"));
        var services = new ServiceCollection();
        services.AddHttpClient<TypedWeatherClient>(c => c.BaseAddress = new Uri("http://typed.test"))
            .AddCoalescing()
            .ConfigurePrimaryHttpMessageHandler(() => network);
        await using var provider = services.BuildServiceProvider();

        var typed = provider.GetRequiredService<TypedWeatherClient>();

        Assert.Equal("typed", await typed.Http.GetStringAsync("/"));
        Assert.Equal(Timeout.InfiniteTimeSpan, typed.Http.Timeout);
        Assert.Contains(provider.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients, c => c.Name == nameof(TypedWeatherClient) && c.Misses == 1);
    }

    internal sealed class TypedWeatherClient(HttpClient http)
    {
        public HttpClient Http { get; } = http;
    }
}
