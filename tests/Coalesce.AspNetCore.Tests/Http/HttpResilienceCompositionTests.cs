using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using Polly;

namespace Coalesce.AspNetCore.Tests.Http;

/// <summary>
/// AddCoalescing beside Microsoft.Extensions.Http.Resilience's handlers, Coalescing-only mode and Polly's telemetry.
/// Network calls are counted on a scripted primary handler; concurrency is real, held open by a gate.
/// </summary>
public class HttpResilienceCompositionTests
{
    private const string Name = "composed";
    private const int Callers = 5;

    /// <summary>The order the two handlers are added to the client in.</summary>
    public enum Order
    {
        AddCoalescingThenAddStandardResilienceHandler,
        AddStandardResilienceHandlerThenAddCoalescing,
    }

    [Theory]
    [InlineData(Order.AddCoalescingThenAddStandardResilienceHandler)]
    [InlineData(Order.AddStandardResilienceHandlerThenAddCoalescing)]
    public async Task AddCoalescing_and_AddStandardResilienceHandler_in_either_order_make_one_network_call_per_flight_and_retry_only_there(Order order)
    {
        await using var composed = new ComposedClient(client =>
        {
            if (order == Order.AddCoalescingThenAddStandardResilienceHandler)
            {
                client
                    .AddCoalescing()
                    .AddStandardResilienceHandler(WithoutDelays);
            }
            else
            {
                client
                    .AddStandardResilienceHandler(WithoutDelays)
                    .Services.AddHttpClient(Name)
                    .AddCoalescing();
            }
        });

        await composed.AssertOneNetworkCallPerFlightAsync();
        using var response = await composed.Client.GetAsync("/down");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(4, composed.NetworkCalls("/down"));
        Assert.Equal(0, composed.Stats.Retries);
    }

    [Fact]
    public async Task A_flight_of_identical_calls_to_a_failing_upstream_runs_the_standard_handlers_retries_once_for_all_callers()
    {
        await using var composed = new ComposedClient(client => client
            .AddCoalescing()
            .AddStandardResilienceHandler(WithoutDelays));

        var calls = Enumerable.Range(0, Callers).Select(_ => composed.Client.GetAsync("/held")).ToArray();
        await TestApp.WaitUntilAsync(() => composed.Stats.Hits == Callers - 1, "the followers");
        composed.OpenGate();
        var responses = await Task.WhenAll(calls);

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode));
        Assert.Equal(4, composed.NetworkCalls("/held"));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_custom_AddResilienceHandler_is_detected_too_and_its_retries_are_the_only_ones()
    {
        await using var composed = new ComposedClient(client => client
            .AddResilienceHandler("custom", pipeline => pipeline.AddRetry(new HttpRetryStrategyOptions { MaxRetryAttempts = 2, Delay = TimeSpan.Zero }))
            .Services.AddHttpClient(Name)
            .AddCoalescing());

        using var response = await composed.Client.GetAsync("/down");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(3, composed.NetworkCalls("/down"));
        Assert.Contains(composed.Logs.GetSnapshot(), r => r.Id.Id == 2204 && r.Message.Contains(nameof(ResilienceHandler), StringComparison.Ordinal));

        // The other handler owns the timeouts, so Coalesce leaves HttpClient.Timeout as it was.
        Assert.Equal(TimeSpan.FromSeconds(100), composed.Client.Timeout);
    }

    [Fact]
    public async Task Coalescing_only_mode_makes_one_network_call_per_flight_with_no_retries_and_passes_errors_through()
    {
        var gate = new Gate();
        var network = new ScriptedHandler(async sent =>
        {
            switch (sent.Uri.AbsolutePath)
            {
                case "/ok":
                    await gate.EnterAndWaitAsync();
                    return ScriptedHandler.Respond(HttpStatusCode.OK, "ok");
                case "/down":
                    return ScriptedHandler.Respond(HttpStatusCode.ServiceUnavailable);
                default:
                    throw new HttpRequestException(HttpRequestError.ConnectionError, "connection refused");
            }
        });
        using var scripted = new ScriptedClient(network, o => o.CoalescingOnly());

        var calls = Enumerable.Range(0, Callers).Select(_ => scripted.Client.GetStringAsync("/ok")).ToArray();
        await TestApp.WaitUntilAsync(() => scripted.Stats.Hits == Callers - 1, "the followers");
        gate.Open();
        Assert.All(await Task.WhenAll(calls), body => Assert.Equal("ok", body));
        using var down = await scripted.Client.GetAsync("/down");
        var unreachable = await Assert.ThrowsAsync<HttpRequestException>(() => scripted.Client.GetAsync("/unreachable"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
        Assert.Equal("connection refused", unreachable.Message);
        Assert.Equal(3, network.Count);
        Assert.Equal((0L, 0L), (scripted.Stats.Retries, scripted.Stats.Fallbacks));
        Assert.Equal(TimeSpan.FromSeconds(100), scripted.Client.Timeout);
    }

    [Fact]
    public async Task The_pipeline_emits_pollys_own_logs_and_metrics_through_the_apps_logger_factory()
    {
        using var events = new MetricCollector<int>(null, "Polly", "resilience.polly.strategy.events");
        await using var composed = new ComposedClient(client => client.AddCoalescing(o =>
        {
            o.Retry = new HttpRetryStrategyOptions { MaxRetryAttempts = 1, Delay = TimeSpan.Zero };
            o.AttemptTimeout = null;
        }));

        using var response = await composed.Client.GetAsync("/down");

        Assert.Equal(2, composed.NetworkCalls("/down"));
        Assert.Equal(1, composed.Stats.Retries);
        Assert.Contains(composed.Logs.GetSnapshot(), r => r.Category == "Polly" && r.Message.Contains("OnRetry", StringComparison.Ordinal));
        Assert.Contains(events.GetMeasurementSnapshot(), m => Equals(m.Tags["event.name"], "OnRetry") && Equals(m.Tags["pipeline.instance"], Name));
    }

    private static void WithoutDelays(HttpStandardResilienceOptions options) => options.Retry.Delay = TimeSpan.Zero;

    /// <summary>
    /// A named client over a scripted network: <c>/ok</c> waits at a gate, <c>/held</c> too and then answers 503,
    /// <c>/down</c> always answers 503 at once. Fake
    /// clock and fake logging from DI, as an app would have them.
    /// </summary>
    private sealed class ComposedClient : IAsyncDisposable
    {
        private readonly ServiceProvider _services;
        private readonly Gate _gate = new();

        public ComposedClient(Action<IHttpClientBuilder> compose)
        {
            Network = new ScriptedHandler(async sent =>
            {
                if (sent.Uri.AbsolutePath is "/ok" or "/held")
                {
                    await _gate.EnterAndWaitAsync();
                }

                return sent.Uri.AbsolutePath == "/ok"
                    ? ScriptedHandler.Respond(HttpStatusCode.OK, "ok")
                    : ScriptedHandler.Respond(HttpStatusCode.ServiceUnavailable);
            });
            var services = new ServiceCollection();
            services.AddFakeLogging(o => o.FilteredLevels.Clear());
            services.AddSingleton<TimeProvider>(new FakeTimeProvider());
            var client = services.AddHttpClient(Name, c => c.BaseAddress = new Uri("http://primary.test/"));
            compose(client);
            client.ConfigurePrimaryHttpMessageHandler(() => Network);
            _services = services.BuildServiceProvider();
            Client = _services.GetRequiredService<IHttpClientFactory>().CreateClient(Name);
        }

        public ScriptedHandler Network { get; }

        public HttpClient Client { get; }

        public FakeLogCollector Logs => _services.GetFakeLogCollector();

        public HttpClientCounts Stats =>
            _services.GetRequiredService<CoalescingStatsRegistry>().GetSnapshot().HttpClients.Single(c => c.Name == Name);

        public void OpenGate() => _gate.Open();

        public int NetworkCalls(string path) => Network.Requests.Count(r => r.Uri.AbsolutePath == path);

        /// <summary>Identical concurrent GETs, held at the network until all have joined: one network call.</summary>
        public async Task AssertOneNetworkCallPerFlightAsync()
        {
            var calls = Enumerable.Range(0, Callers).Select(_ => Client.GetStringAsync("/ok")).ToArray();
            await TestApp.WaitUntilAsync(() => Stats.Hits == Callers - 1, "the followers");
            _gate.Open();

            Assert.All(await Task.WhenAll(calls), body => Assert.Equal("ok", body));
            Assert.Equal(1, NetworkCalls("/ok"));
            Assert.Equal((1L, Callers - 1L), (Stats.Misses, Stats.Hits));
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await _services.DisposeAsync();
        }
    }
}
