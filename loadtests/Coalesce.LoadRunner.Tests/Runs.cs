using Coalesce.LoadRunner.Measurement;
using Coalesce.LoadRunner.Wrk;

namespace Coalesce.LoadRunner.Tests;

/// <summary>Measured runs made up for the tests: a variant's requests per second and CPU in a round.</summary>
internal static class Runs
{
    public static MeasuredRun Of(string variant, int round, double requestsPerSecond, double cpuSecondsPerSecond = 0.9, long executions = 0)
    {
        var requests = (long)(requestsPerSecond * 10);
        var wrk = new WrkResult(requests, 10, requests * 100, 1000, 1500, 3000, 8000, 0, 0, 0, 0, 0);
        return new MeasuredRun(variant, "/" + variant, 64, round, wrk, VariantCounts.None(variant) with { Executions = executions }, cpuSecondsPerSecond * 10);
    }
}
