using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace Coalesce.AspNetCore.Tests.Diagnostics;

/// <summary>
/// The inbound instruments on the app's <c>Coalesce</c> meter: names, units, attributes and values, each request
/// counted once (several apps run at once in this test run, so every collector listens to one app's factory).
/// </summary>
public class CoalescingMetricsTests
{
    [Fact]
    public async Task A_coalesced_stampede_counts_one_miss_and_the_rest_shared_with_the_method_and_route()
    {
        var route = $"/stampede-{Guid.NewGuid():N}";
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(a => a.MapGet(route, async () =>
        {
            await gate.EnterAndWaitAsync();
            return "measured";
        }));
        using var meters = new InboundCollectors(app.Services);

        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetStringAsync(route)).ToArray();
        await app.WaitForFollowersAsync(2);
        gate.Open();
        await Task.WhenAll(requests);

        var counted = meters.Requests.GetMeasurementSnapshot();
        Assert.Equal("{request}", meters.Requests.Instrument!.Unit);
        Assert.All(counted, m =>
        {
            Assert.Equal(1, m.Value);
            Assert.Equal("GET", m.Tags["http.request.method"]);
            Assert.Equal(route, m.Tags["http.route"]);
            Assert.False(m.Tags.ContainsKey("error.type"));
        });
        Assert.Equal(["miss", "shared", "shared"], counted.Select(m => (string)m.Tags["coalesce.result"]!).Order());

        var executed = Assert.Single(meters.Execution.GetMeasurementSnapshot());
        Assert.Equal("s", meters.Execution.Instrument!.Unit);
        Assert.Equal("miss", executed.Tags["coalesce.result"]);
        Assert.Equal(route, executed.Tags["http.route"]);
        Assert.InRange(executed.Value, 0, TestApp.Patience.TotalSeconds);

        var waits = meters.Wait.GetMeasurementSnapshot();
        Assert.Equal("s", meters.Wait.Instrument!.Unit);
        Assert.Equal(2, waits.Count);
        Assert.All(waits, w => Assert.Equal(route, w.Tags["http.route"]));

        var active = meters.Active.GetMeasurementSnapshot();
        Assert.Equal([1, -1], active.Select(m => m.Value));
        Assert.Equal("{execution}", meters.Active.Instrument!.Unit);

        // The stats endpoint keeps its own figures: the same totals, never read from the meter.
        var stats = app.Stats.GetSnapshot();
        Assert.Equal(stats.Requests.Hits + stats.Requests.Misses, counted.Count);
    }

    [Fact]
    public async Task A_memo_hit_counts_as_hit_without_a_wait_or_an_execution()
    {
        var route = $"/memo-{Guid.NewGuid():N}";
        await using var app = await TestApp.StartAsync(a => a.MapGet(route, () => "kept").WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1))));
        using var meters = new InboundCollectors(app.Services);
        using var lookups = new MetricCollector<long>(app.Services.GetRequiredService<IMeterFactory>(), "Coalesce", "coalesce.cache.lookups");

        Assert.Equal("kept", await app.Client.GetStringAsync(route));
        Assert.Equal("kept", await app.Client.GetStringAsync(route));

        Assert.Equal(["hit", "miss"], meters.Requests.GetMeasurementSnapshot().Select(m => (string)m.Tags["coalesce.result"]!).Order());
        Assert.Single(meters.Execution.GetMeasurementSnapshot());
        Assert.Empty(meters.Wait.GetMeasurementSnapshot());

        lookups.RecordObservableInstruments();
        Assert.Equal("{lookup}", lookups.Instrument!.Unit);
        var hits = Assert.Single(lookups.GetMeasurementSnapshot(), m => (string?)m.Tags["coalesce.result"] == "hit");
        Assert.Equal("default", hits.Tags["coalesce.cache.name"]);
        Assert.True(hits.Value >= 1);
    }

    [Fact]
    public async Task A_failed_execution_counts_once_with_an_error_type_and_its_followers_as_shared()
    {
        var route = $"/boom-{Guid.NewGuid():N}";
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet(route, async () =>
            {
                await gate.EnterAndWaitAsync();
                throw new InvalidOperationException("backend down");
            }),
            beforeCoalescing: a => a.UseExceptionHandler(error => error.Run(ctx =>
            {
                ctx.Response.StatusCode = 500;
                return Task.CompletedTask;
            })));
        using var meters = new InboundCollectors(app.Services);

        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetAsync(route)).ToArray();
        await app.WaitForFollowersAsync(2);
        gate.Open();
        Assert.All(await Task.WhenAll(requests), r => Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode));

        var counted = meters.Requests.GetMeasurementSnapshot();
        var failed = Assert.Single(counted, m => m.Tags.ContainsKey("error.type"));
        Assert.Equal("miss", failed.Tags["coalesce.result"]);
        Assert.Equal("_OTHER", failed.Tags["error.type"]);
        Assert.Equal(2, counted.Count(m => (string?)m.Tags["coalesce.result"] == "shared"));
        Assert.Equal(3, counted.Count);
        Assert.Equal("_OTHER", Assert.Single(meters.Execution.GetMeasurementSnapshot()).Tags["error.type"]);
        Assert.Equal(1, app.Stats.GetSnapshot().Requests.Errors);
    }

    [Fact]
    public async Task A_request_that_runs_alone_counts_as_bypass()
    {
        var route = $"/alone-{Guid.NewGuid():N}";
        await using var app = await TestApp.StartAsync(a => a.MapGet(route, () => "mine"));
        using var meters = new InboundCollectors(app.Services);
        using var conditional = new HttpRequestMessage(HttpMethod.Get, route);
        conditional.Headers.TryAddWithoutValidation("If-None-Match", "\"other\"");

        using var response = await app.Client.SendAsync(conditional);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var counted = Assert.Single(meters.Requests.GetMeasurementSnapshot());
        Assert.Equal("bypass", counted.Tags["coalesce.result"]);
        Assert.Equal("bypass", Assert.Single(meters.Execution.GetMeasurementSnapshot()).Tags["coalesce.result"]);
    }

    private sealed class InboundCollectors(IServiceProvider services) : IDisposable
    {
        private static IMeterFactory Factory(IServiceProvider services) => services.GetRequiredService<IMeterFactory>();

        public MetricCollector<long> Requests { get; } = new(Factory(services), "Coalesce", "coalesce.server.requests");

        public MetricCollector<double> Execution { get; } = new(Factory(services), "Coalesce", "coalesce.server.execution.duration");

        public MetricCollector<double> Wait { get; } = new(Factory(services), "Coalesce", "coalesce.server.wait.duration");

        public MetricCollector<long> Active { get; } = new(Factory(services), "Coalesce", "coalesce.server.active_executions");

        public void Dispose()
        {
            Requests.Dispose();
            Execution.Dispose();
            Wait.Dispose();
            Active.Dispose();
        }
    }
}
