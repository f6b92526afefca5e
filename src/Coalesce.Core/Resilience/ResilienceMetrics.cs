using System.Diagnostics.Metrics;
using Coalesce.Diagnostics;

namespace Coalesce.Resilience;

/// <summary>
/// Counters of the resilience layer on one <c>Coalesce</c> meter, tagged <c>coalesce.component</c>
/// (<c>resilient</c> or <c>http_client</c>) and <c>coalesce.name</c>. One instance per meter: the app's registry
/// holds one for its HttpClients; a <see cref="Resilient"/> wrapper makes one from
/// <see cref="ResilienceOptions.MeterFactory"/>.
/// </summary>
internal sealed class ResilienceMetrics
{
    public const string Resilient = "resilient";

    private readonly Counter<long> _retries;
    private readonly Counter<long> _fallbacks;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _failures;

    public ResilienceMetrics(Meter meter)
    {
        _retries = meter.CreateCounter<long>("coalesce.resilience.retries", "{retry}", "Retries scheduled after a failed attempt.");
        _fallbacks = meter.CreateCounter<long>("coalesce.resilience.fallbacks", "{fallback}", "Moves to the next fallback value or address, or to the fallback response, after a failure.");
        _rateLimited = meter.CreateCounter<long>("coalesce.resilience.rate_limited", "{call}", "Calls that had to wait for, or were refused, a rate-limit permit.");
        _failures = meter.CreateCounter<long>("coalesce.resilience.failures", "{call}", "Calls whose every attempt failed.");
    }

    public void Retry(string component, string name) => Add(_retries, component, name);

    public void Fallback(string component, string name) => Add(_fallbacks, component, name);

    public void Limited(string component, string name) => Add(_rateLimited, component, name);

    public void Failure(string component, string name) => Add(_failures, component, name);

    private static void Add(Counter<long> counter, string component, string name)
    {
        if (counter.Enabled)
        {
            counter.Add(1, new KeyValuePair<string, object?>(CoalesceMeter.ComponentTag, component), new KeyValuePair<string, object?>(CoalesceMeter.NameTag, name));
        }
    }
}
