using Coalesce.LoadRunner.Options;
using Coalesce.LoadRunner.Processes;

namespace Coalesce.LoadRunner.Wrk;

/// <summary>
/// Runs wrk from the Lua folder, pinned to the load CPU in the one-core mode, bounded in time, and reads its result.
/// A run in the background (the outage scenario switches its backend meanwhile; the scale-out scenario runs one per
/// instance at once) is started with <see cref="Start"/> and read with <see cref="FinishAsync"/>.
/// </summary>
internal sealed class WrkRunner(RunContext run, MeasurementMode mode)
{
    public async Task<WrkResult> RunAsync(WrkRequest request, string? rawPath, CancellationToken cancellationToken)
    {
        var wrk = Start(request);
        await using (wrk)
        {
            return await FinishAsync(wrk, request, rawPath, cancellationToken);
        }
    }

    public ChildProcess Start(WrkRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return run.Processes.Start("wrk", "wrk", request.Arguments(run.Settings.Threads), new ChildProcessOptions
        {
            Cpu = mode.LoadCpu,
            WorkingDirectory = run.Layout.LuaFolder,
            Environment = request.Environment,
        });
    }

    /// <summary>Waits for a started wrk (within its bound), keeps its output in <paramref name="rawPath"/>, and parses it.</summary>
    public static async Task<WrkResult> FinishAsync(ChildProcess wrk, WrkRequest request, string? rawPath, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(wrk);
        ArgumentNullException.ThrowIfNull(request);
        var exitCode = await wrk.WaitForExitAsync(request.Bound, cancellationToken);
        var output = wrk.Output;
        if (rawPath is not null)
        {
            await File.WriteAllTextAsync(rawPath, output, CancellationToken.None);
        }

        if (exitCode != 0)
        {
            throw new RunnerException($"wrk failed on {request.Url} (exit code {exitCode}): {output.Trim()}");
        }

        try
        {
            return WrkResult.Parse(output);
        }
        catch (FormatException e)
        {
            throw new RunnerException($"could not read wrk's result for {request.Url} ({e.Message}): {output.Trim()}", e);
        }
    }
}
