using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// What one endpoint has been seen to read outside its key: those inputs join the endpoint's key from then on, so
/// requests that differ in them coalesce apart at once (a tenant's requests with each other, never across), and the
/// stats list them. Also counts the shares refused because an input differed.
/// </summary>
/// <remarks>
/// Learned inputs are bounded (<see cref="MaxLearned"/>): past that, further ones are only compared (a request that
/// differs in one runs on its own), never keyed, so a key can't grow without bound.
/// </remarks>
internal sealed class EndpointInputs(string endpointName)
{
    /// <summary>How many inputs one endpoint's key learns at most.</summary>
    public const int MaxLearned = 16;

    private readonly object _lock = new();
    private RequestInput[] _learned = [];
    private long _refused;

    /// <summary>The inputs learned so far, in the order they were learned (copy on write: read without a lock).</summary>
    public RequestInput[] Learned => Volatile.Read(ref _learned);

    /// <summary>Shares refused because an input differed.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    public void CountRefusal() => Interlocked.Increment(ref _refused);

    /// <summary>Sets the refusals to zero (a reset of the stats); what was learned stays.</summary>
    public void ResetRefusals() => Interlocked.Exchange(ref _refused, 0);

    /// <summary>Learns the inputs of a settled leader; logs each new one once.</summary>
    /// <returns>Whether the endpoint's key holds more inputs now.</returns>
    public bool Learn(ObservedInputs observed, ILogger logger)
    {
        var grew = false;
        foreach (var (input, _) in observed.Inputs)
        {
            if (Array.IndexOf(Learned, input) >= 0)
            {
                continue;
            }

            lock (_lock)
            {
                var learned = _learned;
                if (Array.IndexOf(learned, input) >= 0 || learned.Length >= MaxLearned)
                {
                    continue;
                }

                Volatile.Write(ref _learned, [.. learned, input]);
                grew = true;
            }

            CoalescingLog.InputLearned(logger, endpointName, input.ToString(), input.Remedy);
        }

        return grew;
    }
}
