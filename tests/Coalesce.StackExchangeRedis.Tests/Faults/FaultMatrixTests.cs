using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Issue 26's fault matrix, bounded (about 6 s a row): three instances, a writer cycling over them (a PUT, then a GET
/// of the same product on every instance), one fault on instance A's link or on Redis for 2 s. Counted: stale reads
/// after a 2xx (must be 0), writes answered 503, failed reads, and the time from the fault's end until every instance
/// is synchronized again. The figures are printed for the table in docs/across-instances.md ("Under faults").
/// </summary>
public sealed class FaultMatrixTests(ITestOutputHelper output)
{
    private static readonly TimeSpan FaultFor = TimeSpan.FromSeconds(2);

    [RedisFact]
    public Task Slow_link_200ms_each_way() => MeasureAsync("+200 ms each way on A", c => c.Proxies[0].AddLatency(TimeSpan.FromMilliseconds(200)), c => c.Proxies[0].Heal());

    [RedisFact]
    public Task Stalled_link() => MeasureAsync("A's link stalled (a 2 s pause)", c => c.Proxies[0].Stall(), c => c.Proxies[0].Release());

    [RedisFact]
    public Task Blackholed_link() => MeasureAsync("A's link blackholed", c => c.Proxies[0].Blackhole = true, c => c.Proxies[0].Blackhole = false);

    [RedisFact]
    public Task Redis_restarted_empty() => MeasureAsync("Redis restarted without its data", c => c.Redis.Kill(), c => c.Redis.RestartAsync());

    [RedisFact]
    public Task Saturated_cpu() => MeasureAsync("both cores saturated (4 spinning threads)", c => Spinner.Start(4), c => Spinner.StopAll());

    private async Task MeasureAsync(string fault, Action<FaultCluster> inject, Func<FaultCluster, Task> heal) =>
        await MeasureAsync(fault, c =>
        {
            inject(c);
            return Task.CompletedTask;
        }, heal);

    private async Task MeasureAsync(string fault, Action<FaultCluster> inject, Action<FaultCluster> heal) =>
        await MeasureAsync(fault, inject, c =>
        {
            heal(c);
            return Task.CompletedTask;
        });

    private async Task MeasureAsync(string fault, Func<FaultCluster, Task> inject, Func<FaultCluster, Task> heal)
    {
        await using var cluster = await FaultCluster.StartAsync();
        var figures = new Figures();
        var clock = Stopwatch.StartNew();
        var healedAt = TimeSpan.Zero;
        var phase = 0;
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(6))
            {
                if (phase == 0 && clock.Elapsed > TimeSpan.FromSeconds(1))
                {
                    await inject(cluster);
                    phase = 1;
                }
                else if (phase == 1 && clock.Elapsed > TimeSpan.FromSeconds(1) + FaultFor)
                {
                    await heal(cluster);
                    healedAt = clock.Elapsed;
                    phase = 2;
                }

                await WriteThenReadAsync(cluster, figures);
                if (phase == 2 && figures.RecoveredAfter is null && cluster.Nodes.All(n => n.Bus.IsSynchronized))
                {
                    figures.RecoveredAfter = clock.Elapsed - healedAt;
                }
            }
        }
        finally
        {
            Spinner.StopAll();
        }

        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"| {fault} | {figures.Writes} | {figures.Stale} | {figures.Refused} | {figures.FailedReads} | {figures.RecoveredAfter?.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture) ?? "> 3"} s |");
        output.WriteLine(line);
        Console.WriteLine(line);
        Assert.Equal(0, figures.Stale);
        Assert.Equal(0, figures.FailedReads);
    }

    private static async Task WriteThenReadAsync(FaultCluster cluster, Figures figures)
    {
        var writer = cluster.Nodes[figures.Writes % cluster.Nodes.Length];
        var product = 1 + (figures.Writes % 3);
        figures.Writes++;
        using var put = await writer.Client.PutAsync($"/products/{product}", null);
        var version = int.Parse((await put.Content.ReadAsStringAsync()).TrimStart('v'), CultureInfo.InvariantCulture);
        if (!put.IsSuccessStatusCode)
        {
            figures.Refused++;
        }

        foreach (var node in cluster.Nodes)
        {
            using var read = await node.GetAsync($"/products/{product}");
            if (!read.IsSuccessStatusCode)
            {
                figures.FailedReads++;
                continue;
            }

            var body = await read.Content.ReadAsStringAsync();
            var seen = int.Parse(body[(body.LastIndexOf('v') + 1)..], CultureInfo.InvariantCulture);
            if (put.IsSuccessStatusCode && seen < version)
            {
                figures.Stale++;
            }
        }
    }

    private sealed class Figures
    {
        public int Writes { get; set; }

        public int Stale { get; set; }

        public int Refused { get; set; }

        public int FailedReads { get; set; }

        public TimeSpan? RecoveredAfter { get; set; }
    }

    /// <summary>Threads that spin until stopped: a saturated CPU without another process.</summary>
    private static class Spinner
    {
        private static readonly List<Thread> Threads = [];
        private static volatile bool _stop;

        public static void Start(int count)
        {
            _stop = false;
            for (var i = 0; i < count; i++)
            {
                var thread = new Thread(static () =>
                {
                    while (!_stop)
                    {
                        Thread.SpinWait(1000);
                    }
                }) { IsBackground = true };
                thread.Start();
                lock (Threads)
                {
                    Threads.Add(thread);
                }
            }
        }

        public static void StopAll()
        {
            _stop = true;
            lock (Threads)
            {
                foreach (var thread in Threads)
                {
                    thread.Join(TimeSpan.FromSeconds(2));
                }

                Threads.Clear();
            }
        }
    }
}
