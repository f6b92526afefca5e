using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;

namespace Coalesce.Resilience;

/// <summary>
/// Counters of the resilience layer on the <c>Coalesce</c> meter, tagged <c>coalesce.layer</c> and
/// <c>coalesce.name</c>.
/// </summary>
internal static class ResilienceMetrics
{
    public const string Layer = "resilience";

    private static readonly Counter<long> Retries =
        CoalesceMeter.Meter.CreateCounter<long>("coalesce.resilience.retries", "{retry}", "Retries scheduled after a failed attempt.");

    private static readonly Counter<long> Fallbacks =
        CoalesceMeter.Meter.CreateCounter<long>("coalesce.resilience.fallbacks", "{fallback}", "Moves to the next fallback value after a failure.");

    private static readonly Counter<long> RateLimited =
        CoalesceMeter.Meter.CreateCounter<long>("coalesce.resilience.rate_limited", "{call}", "Calls that had to wait for, or were refused, a rate-limit permit.");

    private static readonly Counter<long> Failures =
        CoalesceMeter.Meter.CreateCounter<long>("coalesce.resilience.failures", "{call}", "Calls whose every attempt failed.");

    public static void Retry(string name, string layer = Layer) => Add(Retries, layer, name);

    public static void Fallback(string name, string layer = Layer) => Add(Fallbacks, layer, name);

    public static void Limited(string name, string layer = Layer) => Add(RateLimited, layer, name);

    public static void Failure(string name, string layer = Layer) => Add(Failures, layer, name);

    private static void Add(Counter<long> counter, string layer, string name)
    {
        if (counter.Enabled)
        {
            counter.Add(1, CoalesceMeter.Tags(layer, name));
        }
    }
}
