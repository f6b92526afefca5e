using System.Diagnostics;
using System.Runtime.InteropServices;
using Coalesce.L2Load;

// Measures the second level's operations per second on one redis-server and on a three-master Redis Cluster, both
// started here on free 127.0.0.1 ports and stopped when it ends (also on failure or Ctrl-C); see loadtests/README.md.
L2LoadSettings settings;
try
{
    if (args is ["--help"] or ["-h"])
    {
        Console.WriteLine(L2LoadSettings.Usage);
        return 0;
    }

    settings = L2LoadSettings.Parse(args);
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"l2load: {e.Message}");
    return 2;
}

using var interrupted = new CancellationTokenSource();
void Interrupt(PosixSignalContext signal)
{
    // Unwind instead of dying, so every redis-server started is stopped on the way out.
    signal.Cancel = true;
    interrupted.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);

RedisTopology? single = null, cluster = null;
L2Workload? onSingle = null, onCluster = null;
try
{
    single = await RedisTopology.StartSingleAsync();
    cluster = await RedisTopology.StartClusterAsync();
    await Console.Error.WriteLineAsync($"l2load: one node at {single.Configuration}; three masters at {cluster.Configuration}");
    onSingle = await L2Workload.StartAsync(single.Configuration, settings);
    onCluster = await L2Workload.StartAsync(cluster.Configuration, settings);
    await onSingle.FillAsync(interrupted.Token);
    await onCluster.FillAsync(interrupted.Token);
    await Console.Error.WriteLineAsync($"l2load: {settings.Keys} keys stored on each topology");

    var rounds = new List<RoundResult>();
    for (var round = 1; round <= settings.Rounds; round++)
    {
        foreach (var (topology, workload) in new[] { (single, onSingle), (cluster, onCluster) })
        {
            var cpuBefore = await Task.WhenAll(topology.Nodes.Select(static n => n.CpuSecondsAsync()));
            var clientBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var (elapsed, gets, hits, sets, stored) = await workload.RunAsync(interrupted.Token);
            var clientAfter = Process.GetCurrentProcess().TotalProcessorTime;
            var cpuAfter = await Task.WhenAll(topology.Nodes.Select(static n => n.CpuSecondsAsync()));
            interrupted.Token.ThrowIfCancellationRequested();
            var result = new RoundResult(
                topology.Name, round, elapsed, gets, hits, sets, stored,
                [.. cpuAfter.Zip(cpuBefore, static (a, b) => a - b)], (clientAfter - clientBefore).TotalSeconds);
            rounds.Add(result);
            await Console.Error.WriteLineAsync($"l2load: {result.Topology} round {round}: {result.OperationsPerSecond:N0} ops/s, {result.Failed} failed");
        }
    }

    var keysOnOne = await Task.WhenAll(single.Nodes.Select(static n => n.KeyCountAsync()));
    var keysPerMaster = await Task.WhenAll(cluster.Nodes.Select(static n => n.KeyCountAsync()));
    Console.Write(L2LoadReport.Markdown(settings, rounds, keysOnOne, keysPerMaster));
    return 0;
}
catch (OperationCanceledException) when (interrupted.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("l2load: interrupted; servers stopped.");
    return 130;
}
catch (InvalidOperationException e)
{
    await Console.Error.WriteLineAsync($"l2load: {e.Message}");
    return 1;
}
finally
{
    foreach (var disposable in new IAsyncDisposable?[] { onSingle, onCluster, single, cluster })
    {
        if (disposable is not null)
        {
            await disposable.DisposeAsync();
        }
    }
}
