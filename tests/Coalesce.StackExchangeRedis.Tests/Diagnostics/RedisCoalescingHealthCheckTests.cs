using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// <c>AddHealthChecks().AddCoalescingRedis()</c>: healthy while connected and synchronized, degraded (with since when
/// and why) while not synchronized, unhealthy once Redis has not answered for longer than the lease duration.
/// </summary>
public sealed class RedisCoalescingHealthCheckTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(1);

    [RedisFact]
    public async Task Cut_from_Redis_the_instance_is_degraded_then_unhealthy_past_the_lease_and_healthy_again_once_restored()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var proxy = FaultProxy.Start(redis.Port);
        await using var node = await WebNode.StartAsync(
            proxy.Configuration, new Catalog(),
            o =>
            {
                FaultCluster.ProductionBudgets(o);
                o.LeaseDuration = Lease;
            },
            endpoints: app => app.MapHealthChecks("/healthz"),
            services: s => s.AddHealthChecks().AddCoalescingRedis());
        await Eventually.TrueAsync(() => node.Bus.IsSynchronized, "the instance synchronized");
        Assert.Equal((HttpStatusCode.OK, "Healthy"), await HealthAsync(node));
        var healthy = await ReportAsync(node);
        Assert.Equal(HealthStatus.Healthy, healthy.Status);
        Assert.False(healthy.Data.ContainsKey("unsynchronizedSince"));
        Assert.Null(node.Stats.UnsynchronizedSince);
        Assert.Null(node.Stats.DisconnectedSince);

        var cut = DateTimeOffset.UtcNow;
        proxy.Blackhole = true;
        await Eventually.TrueAsync(() => !node.Bus.IsSynchronized, "the instance noticed its link is gone");
        var degraded = await ReportAsync(node);
        var noticed = DateTimeOffset.UtcNow;
        Assert.Equal(HealthStatus.Degraded, degraded.Status);
        Assert.Equal((HttpStatusCode.OK, "Degraded"), await HealthAsync(node));
        var since = Assert.IsType<DateTimeOffset>(degraded.Data["unsynchronizedSince"]);
        Assert.InRange(since, cut, noticed);
        Assert.Contains("Redis is left alone", (string)degraded.Data["reason"], StringComparison.Ordinal);
        Assert.Contains(since.ToString("O"), degraded.Description, StringComparison.Ordinal);
        var stats = node.Stats;
        Assert.Equal(since, stats.UnsynchronizedSince);
        Assert.NotNull(stats.DisconnectedSince);
        Assert.InRange(stats.DisconnectedSince.Value, cut, noticed);

        // Past the lease without an answer from Redis: unhealthy, and MapHealthChecks answers 503.
        await Eventually.TrueAsync(async () => (await HealthAsync(node)).Status == HttpStatusCode.ServiceUnavailable, "the instance turned unhealthy");
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "Unhealthy"), await HealthAsync(node));
        var unhealthy = await ReportAsync(node);
        Assert.Equal(HealthStatus.Unhealthy, unhealthy.Status);
        Assert.Contains("has not answered since", unhealthy.Description, StringComparison.Ordinal);
        Assert.True(DateTimeOffset.UtcNow - stats.DisconnectedSince.Value >= Lease);

        proxy.Blackhole = false;
        await Eventually.TrueAsync(async () => (await HealthAsync(node)).Body == "Healthy", "the instance is healthy again");
        Assert.Null(node.Stats.UnsynchronizedSince);
        Assert.Null(node.Stats.DisconnectedSince);
    }

    [RedisFact]
    public async Task A_stalled_link_is_degraded_while_Redis_is_reachable_again_before_the_lease_passes()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var proxy = FaultProxy.Start(redis.Port);
        await using var node = await WebNode.StartAsync(
            proxy.Configuration, new Catalog(), o =>
            {
                FaultCluster.ProductionBudgets(o);
                o.LeaseDuration = TimeSpan.FromSeconds(30);
            },
            services: s => s.AddHealthChecks().AddCoalescingRedis());
        await Eventually.TrueAsync(() => node.Bus.IsSynchronized, "the instance synchronized");

        proxy.Stall();
        await Eventually.TrueAsync(() => !node.Bus.IsSynchronized, "the instance noticed its stalled link");
        Assert.Equal(HealthStatus.Degraded, (await ReportAsync(node)).Status);

        proxy.Release();
        await Eventually.TrueAsync(() => node.Bus.IsSynchronized, "the instance synchronized again");
        Assert.Equal(HealthStatus.Healthy, (await ReportAsync(node)).Status);
    }

    [Fact]
    public async Task Never_reached_the_instance_is_degraded_from_its_start_and_unhealthy_once_the_lease_passed()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero));
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        services.AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddStackExchangeRedisCoalescing(o =>
        {
            o.Configuration = "127.0.0.1:1";
            o.LeaseDuration = TimeSpan.FromSeconds(10);
        });
        services.AddHealthChecks().AddCoalescingRedis();
        await using var provider = services.BuildServiceProvider();
        var checks = provider.GetRequiredService<HealthCheckService>();

        var starting = (await checks.CheckHealthAsync()).Entries[RedisCoalescingHealthChecksBuilderExtensions.HealthCheckName];
        Assert.Equal(HealthStatus.Degraded, starting.Status);
        Assert.Equal(time.GetUtcNow(), starting.Data["unsynchronizedSince"]);
        Assert.Equal(time.GetUtcNow(), starting.Data["disconnectedSince"]);
        Assert.Equal("not connected to Redis yet", starting.Data["reason"]);
        Assert.Equal("Not synchronized with the other instances since 2026-12-07T12:00:00.0000000+00:00 (not connected to Redis yet): requests are answered in-process and tagged local copies are not served.", starting.Description);
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero), provider.GetRequiredService<RedisCoalescingStatsSource>().GetSnapshot().DisconnectedSince);

        time.Advance(TimeSpan.FromSeconds(9.9));
        Assert.Equal(HealthStatus.Degraded, (await checks.CheckHealthAsync()).Status);
        time.Advance(TimeSpan.FromSeconds(0.1));
        var down = (await checks.CheckHealthAsync()).Entries[RedisCoalescingHealthChecksBuilderExtensions.HealthCheckName];
        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.Equal("Redis has not answered since 2026-12-07T12:00:00.0000000+00:00, longer than the lease duration (00:00:10): this instance works in-process, answers writes 503 and its leases have lapsed.", down.Description);
    }

    [Fact]
    public async Task Without_the_Redis_level_the_check_says_what_is_missing()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddHealthChecks().AddCoalescingRedis();
        await using var provider = services.BuildServiceProvider();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => provider.GetRequiredService<HealthCheckService>().CheckHealthAsync());
        Assert.Contains("AddStackExchangeRedisCoalescing", error.Message, StringComparison.Ordinal);
    }

    private static async Task<HealthReportEntry> ReportAsync(WebNode node)
    {
        var report = await node.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();
        return report.Entries[RedisCoalescingHealthChecksBuilderExtensions.HealthCheckName];
    }

    private static async Task<(HttpStatusCode Status, string Body)> HealthAsync(WebNode node)
    {
        using var response = await node.Client.GetAsync("/healthz");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
