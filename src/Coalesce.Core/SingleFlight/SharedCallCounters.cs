namespace Coalesce;

/// <summary>
/// The live counters behind <see cref="SharedCallStats"/>. Each is striped across processors, so requests
/// counting at once on different cores never contend for one cache line; a snapshot sums each counter once, so
/// under load its figures can be a few operations apart, but each settles exactly.
/// </summary>
internal sealed class SharedCallCounters
{
    private readonly StripedCounter _hits = new();
    private readonly StripedCounter _misses = new();
    private readonly StripedCounter _errors = new();
    private readonly StripedCounter _active = new();

    public long Hits => _hits.Value;

    public long Misses => _misses.Value;

    public long Errors => _errors.Value;

    /// <summary>Flights in progress. Never negative, even when read between a flight's start and end on two cores.</summary>
    public long Active => Math.Max(0, _active.Value);

    public void Hit() => _hits.Increment();

    public void Started()
    {
        _misses.Increment();
        _active.Increment();
    }

    public void Completed(bool failed)
    {
        if (failed)
        {
            _errors.Increment();
        }

        _active.Decrement();
    }

    public SharedCallStats Snapshot() => new(Hits, Misses, Errors, Active);

    public void Reset()
    {
        _hits.Reset();
        _misses.Reset();
        _errors.Reset();
    }
}
