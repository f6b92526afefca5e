using System.Diagnostics;
using Coalesce.AspNetCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// One app instance for a test: its own host, service provider, multiplexer and instance id, with fast timings
/// (heartbeat 200 ms, liveness 1 s, probes every 100 ms) so every wait in a test stays short, and a 1 s read budget.
/// </summary>
internal sealed class TestNode : IAsyncDisposable
{
    private readonly IHost _host;
    private int _disposed;

    private TestNode(IHost host)
    {
        _host = host;
    }

    public IServiceProvider Services => _host.Services;

    public MemoCache Cache => Services.GetRequiredService<MemoCache>();

    public RedisInvalidationBus Bus => Services.GetRequiredService<RedisInvalidationBus>();

    public IDistributedInvalidation Invalidation => Services.GetRequiredService<IDistributedInvalidation>();

    public ISecondLevelStore Store => Services.GetRequiredService<ISecondLevelStore>();

    public RedisConnection Connection => Services.GetRequiredService<RedisConnection>();

    public RedisCoalescingStats Stats => Services.GetRequiredService<RedisCoalescingStatsSource>().GetSnapshot();

    public LogSink Logs { get; } = new();

    public static ConfigurationOptions FastConfiguration(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.ConnectTimeout = 1000;
        options.AsyncTimeout = 1000;
        options.SyncTimeout = 1000;
        options.ConnectRetry = 1;
        options.ReconnectRetryPolicy = new LinearRetry(100);
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        return options;
    }

    /// <summary>The fast timings every test instance starts with (a test's own configuration comes after).</summary>
    public static void UseFastTimings(RedisCoalescingOptions options, string configuration)
    {
        options.ConfigurationOptions = FastConfiguration(configuration);
        options.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
        options.NodeLiveness = TimeSpan.FromSeconds(1);
        options.BreakerProbeInterval = TimeSpan.FromMilliseconds(100);
        options.AckTimeout = TimeSpan.FromSeconds(5);
        // Generous by default: a cold first call (JIT, script load) may exceed 50 ms and turn into a miss, which
        // is right in production but not what functional tests check. Outage tests set the real budget.
        options.ReadBudget = TimeSpan.FromSeconds(1);
    }

    public static async Task<TestNode> StartAsync(
        string configuration, Action<RedisCoalescingOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var sink = new LogSink();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Logging.AddProvider(sink);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        services?.Invoke(builder.Services);
        builder.Services.AddStackExchangeRedisCoalescing(o =>
        {
            UseFastTimings(o, configuration);
            configure?.Invoke(o);
        });
        var host = builder.Build();
        var node = new TestNode(host, sink);
        await host.StartAsync();
        return node;
    }

    private TestNode(IHost host, LogSink logs)
        : this(host)
    {
        Logs = logs;
    }

    /// <summary>Starts nodes and waits until all of them follow invalidations; disposing the result stops them all.</summary>
    public static Task<Nodes<TestNode>> StartSynchronizedAsync(string configuration, int count, Action<RedisCoalescingOptions>? configure = null) =>
        StartSynchronizedAsync(configuration, [.. Enumerable.Repeat(configure, count)]);

    /// <summary>Starts a node per entry of <paramref name="configure"/>, each with its own options, and waits until all follow invalidations.</summary>
    public static async Task<Nodes<TestNode>> StartSynchronizedAsync(string configuration, params Action<RedisCoalescingOptions>?[] configure)
    {
        var nodes = new TestNode[configure.Length];
        try
        {
            for (var i = 0; i < nodes.Length; i++)
            {
                nodes[i] = await StartAsync(configuration, configure[i]);
            }

            // Every node has heartbeat at least once (done inside synchronization), so writers count them all.
            foreach (var node in nodes)
            {
                await node.WaitUntilSynchronizedAsync();
            }
        }
        catch
        {
            await nodes.DisposeAllAsync();
            throw;
        }

        return new Nodes<TestNode>(nodes);
    }

    public Task WaitUntilSynchronizedAsync() => Eventually.TrueAsync(() => Bus.IsSynchronized, "the node synchronized");

    /// <summary>Stops and disposes the host. Idempotent, so a test may stop a node early.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await _host.StopAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            _host.Dispose();
        }
    }
}

/// <summary>Bounded polling for conditions that follow real Redis round trips.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string what, double seconds = 5)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Assert.Fail($"Waited {seconds} s for: {what}.");
            }

            await Task.Delay(20);
        }
    }

    public static async Task TrueAsync(Func<Task<bool>> condition, string what, double seconds = 5)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                Assert.Fail($"Waited {seconds} s for: {what}.");
            }

            await Task.Delay(20);
        }
    }
}
