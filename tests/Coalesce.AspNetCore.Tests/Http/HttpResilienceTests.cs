using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Coalesce.AspNetCore.Tests.Http;

public class HttpResilienceTests
{
    private static Action<HttpCoalescingOptions> Retrying(int retries, Action<HttpCoalescingOptions>? more = null) => o =>
    {
        ScriptedClient.Untimed(o);
        o.Retry = retries == 0 ? null : new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = retries,
            Delay = TimeSpan.FromSeconds(1),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = false,
        };
        more?.Invoke(o);
    };

    [Fact]
    public async Task Two_503s_then_200_succeeds_after_two_retries_with_the_configured_delays_and_disposes_the_503s()
    {
        var network = new ScriptedHandler(sent => ScriptedHandler.Respond(sent.Index <= 2 ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK, $"call {sent.Index}"));
        using var scripted = new ScriptedClient(network, Retrying(3));

        var call = scripted.Client.GetAsync("/flaky");
        await scripted.Time.WaitForTimersAsync(1);
        Assert.Equal(1, network.Count);
        scripted.Time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Equal(1, network.Count);
        scripted.Time.Advance(TimeSpan.FromMilliseconds(1));
        await network.WaitForCallsAsync(2);
        await scripted.Time.WaitForTimersAsync(1);
        scripted.Time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(2, network.Count);
        scripted.Time.Advance(TimeSpan.FromMilliseconds(1));
        using var response = await call;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("call 3", await response.Content.ReadAsStringAsync());
        Assert.Equal(3, network.Count);
        Assert.All(network.SentContents.Take(2), c => Assert.True(c.Disposed));
        Assert.Equal((2L, 1L, 0L), (scripted.Stats.Retries, scripted.Stats.Misses, scripted.Stats.Errors));
    }

    [Fact]
    public async Task Retry_After_replaces_the_computed_delay()
    {
        var network = new ScriptedHandler(sent => ScriptedHandler.Respond(
            sent.Index == 1 ? HttpStatusCode.TooManyRequests : HttpStatusCode.OK,
            configure: r => r.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(5))));
        using var scripted = new ScriptedClient(network, Retrying(1));

        var call = scripted.Client.GetAsync("/limited");
        await scripted.Time.WaitForTimersAsync(1);
        scripted.Time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(1, network.Count);
        scripted.Time.Advance(TimeSpan.FromSeconds(0.1));
        using var response = await call;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, network.Count);
    }

    [Fact]
    public async Task A_POST_is_not_retried_unless_enabled()
    {
        var network = new ScriptedHandler(_ => ScriptedHandler.Respond(HttpStatusCode.ServiceUnavailable));
        using var scripted = new ScriptedClient(network, Retrying(3));

        using var response = await scripted.Client.PostAsync("/orders", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, network.Count);
        Assert.Equal(0, scripted.Stats.Retries);
    }

    [Fact]
    public async Task An_enabled_POST_retry_resends_the_same_body_from_a_stream_read_once()
    {
        var network = new ScriptedHandler(sent => ScriptedHandler.Respond(sent.Index == 1 ? HttpStatusCode.BadGateway : HttpStatusCode.Created));
        using var scripted = new ScriptedClient(network, Retrying(1, o => o.RetryUnsafeMethods = true));
        var content = new StreamContent(new ReadOnceStream(Encoding.UTF8.GetBytes("{\"id\":7}")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var call = scripted.Client.PostAsync("/orders", content);
        await scripted.Time.WaitForTimersAsync(1);
        scripted.Time.Advance(TimeSpan.FromSeconds(1));
        using var response = await call;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(2, network.Count);
        Assert.All(network.Requests, r =>
        {
            Assert.Equal("{\"id\":7}", Encoding.UTF8.GetString(r.Body));
            Assert.Equal("application/json", r.Headers["Content-Type"]);
        });
    }

    [Fact]
    public async Task A_POST_goes_to_a_fallback_address_only_when_it_never_reached_the_primary()
    {
        var network = new ScriptedHandler(sent => sent.Uri.Host == "primary.test" && sent.Headers["X-Case"] == "refused"
            ? throw new HttpRequestException(HttpRequestError.ConnectionError, "connection refused")
            : ScriptedHandler.Respond(sent.Uri.Host == "primary.test" ? HttpStatusCode.ServiceUnavailable : HttpStatusCode.OK, sent.Uri.Host));
        using var scripted = new ScriptedClient(network, Retrying(3, o => o.FallbackBaseAddresses.Add(new Uri("http://backup.test"))));

        HttpRequestMessage Post(string @case)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent("{}") };
            request.Headers.Add("X-Case", @case);
            return request;
        }

        using var answered = await scripted.Client.SendAsync(Post("answered"));
        using var refused = await scripted.Client.SendAsync(Post("refused"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answered.StatusCode);
        Assert.Equal("backup.test", await refused.Content.ReadAsStringAsync());
        Assert.Equal(["primary.test", "primary.test", "backup.test"], network.Requests.Select(r => r.Uri.Host));
        Assert.Equal((0L, 1L), (scripted.Stats.Retries, scripted.Stats.Fallbacks));
    }

    [Fact]
    public async Task Fallback_addresses_are_tried_in_order_within_each_attempt()
    {
        var network = new ScriptedHandler(sent => sent.Index < 5
            ? throw new HttpRequestException(HttpRequestError.ConnectionError, $"{sent.Uri.Host} is down")
            : ScriptedHandler.Respond(HttpStatusCode.OK, sent.Uri.Host));
        using var scripted = new ScriptedClient(network, Retrying(1, o =>
        {
            o.FallbackBaseAddresses.Add(new Uri("http://east.test"));
            o.FallbackBaseAddresses.Add(new Uri("https://west.test:8443"));
        }));

        var call = scripted.Client.GetStringAsync("/items/1?full=true");
        await network.WaitForCallsAsync(3);
        await scripted.Time.WaitForTimersAsync(1);
        scripted.Time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal("east.test", await call);
        Assert.Equal(
            ["http://primary.test/items/1?full=true", "http://east.test/items/1?full=true", "https://west.test:8443/items/1?full=true",
             "http://primary.test/items/1?full=true", "http://east.test/items/1?full=true"],
            network.Requests.Select(r => r.Uri.AbsoluteUri));
        Assert.Equal((1L, 3L), (scripted.Stats.Retries, scripted.Stats.Fallbacks));
    }

    [Fact]
    public async Task After_the_last_retry_a_failing_status_comes_back_as_the_response_and_the_earlier_ones_are_disposed()
    {
        var network = new ScriptedHandler(sent => ScriptedHandler.Respond(HttpStatusCode.ServiceUnavailable, $"call {sent.Index} from {sent.Uri.Host}"));
        using var scripted = new ScriptedClient(network, Retrying(1, o => o.FallbackBaseAddresses.Add(new Uri("http://backup.test"))));

        var call = scripted.Client.GetAsync("/down");
        await scripted.Time.WaitForTimersAsync(1);
        scripted.Time.Advance(TimeSpan.FromSeconds(1));
        using var response = await call;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("call 4 from backup.test", await response.Content.ReadAsStringAsync());
        Assert.Equal(["primary.test", "backup.test", "primary.test", "backup.test"], network.Requests.Select(r => r.Uri.Host));
        Assert.All(network.SentContents, c => Assert.True(c.Disposed));
        Assert.Equal((1L, 2L, 0L), (scripted.Stats.Retries, scripted.Stats.Fallbacks, scripted.Stats.Errors));
    }

    [Fact]
    public async Task A_transport_failure_after_the_last_retry_is_an_HttpRequestException_listing_every_attempt()
    {
        // The primary answers 502 and the backup cannot be reached, so every attempt ends in a transport failure.
        var network = new ScriptedHandler(sent => sent.Uri.Host == "primary.test"
            ? ScriptedHandler.Respond(HttpStatusCode.BadGateway)
            : throw new HttpRequestException(HttpRequestError.ConnectionError, $"attempt {sent.Index}: connection refused"));
        using var scripted = new ScriptedClient(network, Retrying(1, o => o.FallbackBaseAddresses.Add(new Uri("http://backup.test"))));

        var call = scripted.Client.GetAsync("/down");
        await scripted.Time.WaitForTimersAsync(1);
        scripted.Time.Advance(TimeSpan.FromSeconds(1));
        HttpRequestException caught;
        try
        {
            using var unexpected = await call;
            throw new InvalidOperationException("The call should have failed.");
        }
        catch (HttpRequestException error)
        {
            caught = error;
        }

        var failure = Assert.IsType<HttpAllAttemptsFailedException>(caught);
        Assert.Equal(4, failure.AttemptCount);
        Assert.Equal(HttpRequestError.ConnectionError, failure.HttpRequestError);
        Assert.Same(failure.Errors[^1], failure.InnerException);
        Assert.Equal([HttpStatusCode.BadGateway, null, HttpStatusCode.BadGateway, null], failure.Errors.Select(e => ((HttpRequestException)e).StatusCode));
        Assert.Contains("attempt 4: connection refused", failure.Errors[3].Message, StringComparison.Ordinal);
        Assert.StartsWith("All 4 attempts failed:", failure.Message, StringComparison.Ordinal);
        Assert.All(network.SentContents, c => Assert.True(c.Disposed));
        Assert.Equal((1L, 2L, 1L), (scripted.Stats.Retries, scripted.Stats.Fallbacks, scripted.Stats.Errors));
    }

    [Fact]
    public async Task When_everything_fails_the_configured_fallback_response_is_returned()
    {
        var network = new ScriptedHandler(sent => sent.Index > 0 ? throw new HttpRequestException("connection reset") : ScriptedHandler.Respond(HttpStatusCode.OK));
        using var scripted = new ScriptedClient(network, Retrying(0, o => o.FallbackResponse = (request, failure) =>
            new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($"stale after {failure.AttemptCount}") }));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/down");

        using var response = await scripted.Client.SendAsync(request);

        Assert.Equal("stale after 1", await response.Content.ReadAsStringAsync());
        Assert.Same(request, response.RequestMessage);
        Assert.Equal((1L, 1L), (scripted.Stats.Fallbacks, scripted.Stats.Errors));
    }

    [Fact]
    public async Task With_the_primary_address_down_the_fallback_gets_the_same_path_query_headers_and_body()
    {
        await using var upstream = await KestrelUpstream.StartAsync(app => app.MapPost("/orders/{id}", async (HttpContext context, string id) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            return Results.Json(new
            {
                path = context.Request.Path.Value,
                query = context.Request.QueryString.Value,
                header = context.Request.Headers["X-Request-Id"].ToString(),
                contentType = context.Request.ContentType,
                body = await reader.ReadToEndAsync(),
            });
        }));
        var services = new ServiceCollection();
        services.AddHttpClient("orders", c => c.BaseAddress = new Uri($"http://127.0.0.1:{KestrelUpstream.ClosedPort()}/"))
            .AddCoalescing(o => o.FallbackBaseAddresses.Add(new Uri(upstream.Address.GetLeftPart(UriPartial.Authority))));
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<IHttpClientFactory>().CreateClient("orders");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders/42?dryRun=true")
        {
            Content = JsonContent.Create(new { quantity = 3 }),
        };
        request.Headers.Add("X-Request-Id", "r-1");

        using var response = await client.SendAsync(request);
        var echo = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/orders/42", echo.GetProperty("path").GetString());
        Assert.Equal("?dryRun=true", echo.GetProperty("query").GetString());
        Assert.Equal("r-1", echo.GetProperty("header").GetString());
        Assert.StartsWith("application/json", echo.GetProperty("contentType").GetString(), StringComparison.Ordinal);
        Assert.Equal("{\"quantity\":3}", echo.GetProperty("body").GetString());
        var counts = provider.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients.Single();
        Assert.Equal((1L, 0L, 0L), (counts.Fallbacks, counts.Retries, counts.Errors));
    }

    [Fact]
    public async Task Calls_beyond_the_rate_limit_fail_at_once_when_no_queue_is_allowed()
    {
        var network = new ScriptedHandler(_ => ScriptedHandler.Respond(HttpStatusCode.OK));
        using var scripted = new ScriptedClient(network, o =>
        {
            ScriptedClient.Untimed(o);
            o.RateLimit = new HttpRateLimitOptions { PermitsPerSecond = 1, QueueLimit = 0 };
        });

        using var first = await scripted.Client.GetAsync("/a");
        var rejected = await Assert.ThrowsAsync<RateLimitRejectedException>(() => scripted.Client.GetAsync("/b"));

        Assert.Contains(ScriptedClient.Name, rejected.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(1), rejected.RetryAfter);
        Assert.IsType<Polly.RateLimiting.RateLimiterRejectedException>(rejected.InnerException);
        Assert.Equal(1, network.Count);
        scripted.Time.Advance(TimeSpan.FromSeconds(1));
        using var later = await scripted.Client.GetAsync("/b");
        Assert.Equal(2, network.Count);
    }

    [Fact]
    public async Task Calls_beyond_the_rate_limit_wait_in_the_queue_for_the_next_window()
    {
        var network = new ScriptedHandler(_ => ScriptedHandler.Respond(HttpStatusCode.OK));
        using var scripted = new ScriptedClient(network, o =>
        {
            ScriptedClient.Untimed(o);
            o.RateLimit = new HttpRateLimitOptions { PermitsPerSecond = 1, QueueLimit = 1 };
        });

        using var first = await scripted.Client.GetAsync("/a");
        var queued = scripted.Client.GetAsync("/b");
        await scripted.Time.WaitForTimersAsync(1);
        Assert.False(queued.IsCompleted);
        scripted.Time.Advance(TimeSpan.FromSeconds(1));
        using var second = await queued;

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, network.Count);
    }

    [Fact]
    public async Task The_handlers_total_timeout_is_not_cut_short_by_HttpClient_Timeout_and_fails_clearly()
    {
        var network = new ScriptedHandler(async sent =>
        {
            await Task.Delay(Timeout.Infinite, sent.Token);
            return ScriptedHandler.Respond(HttpStatusCode.OK);
        });
        var services = new ServiceCollection();
        var time = new Coalesce.Testing.ManualTimeProvider();
        services.AddSingleton<TimeProvider>(time);
        services.AddHttpClient("slow", c =>
            {
                c.BaseAddress = new Uri("http://slow.test");
                c.Timeout = TimeSpan.FromSeconds(1);
            })
            .AddCoalescing(o =>
            {
                o.AttemptTimeout = null;
                o.Retry = null;
                o.TotalTimeout = TimeSpan.FromSeconds(5);
            })
            .ConfigurePrimaryHttpMessageHandler(() => network);
        services.AddHttpClient("untouched", c => c.Timeout = TimeSpan.FromSeconds(1)).AddCoalescing(o => o.TotalTimeout = null);
        await using var provider = services.BuildServiceProvider();
        var factory = provider.GetRequiredService<IHttpClientFactory>();
        using var client = factory.CreateClient("slow");

        Assert.Equal(Timeout.InfiniteTimeSpan, client.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(1), factory.CreateClient("untouched").Timeout);

        var call = client.GetAsync("/report");
        await time.WaitForTimersAsync(1);
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.False(call.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        var failure = await Assert.ThrowsAsync<HttpAllAttemptsFailedException>(() => call);

        Assert.IsType<TimeoutRejectedException>(failure.Errors[^1]);
        Assert.True(network.Requests.Single().Token.IsCancellationRequested);
    }

    [Fact]
    public async Task An_attempt_timeout_fails_the_attempt_and_retry_tries_again()
    {
        var network = new ScriptedHandler(async sent =>
        {
            if (sent.Index == 1)
            {
                await Task.Delay(Timeout.Infinite, sent.Token);
            }

            return ScriptedHandler.Respond(HttpStatusCode.OK, "second");
        });
        using var scripted = new ScriptedClient(network, Retrying(1, o =>
        {
            o.AttemptTimeout = TimeSpan.FromSeconds(2);
            o.Retry!.Delay = TimeSpan.Zero;
        }));

        var call = scripted.Client.GetStringAsync("/slow-once");
        await network.WaitForCallsAsync(1);
        await scripted.Time.WaitForTimersAsync(1);
        scripted.Time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal("second", await call);
        Assert.Equal(1, scripted.Stats.Retries);
    }

    /// <summary>A body that can be read once only: StreamContent refuses to send a consumed unseekable stream again.</summary>
    private sealed class ReadOnceStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
