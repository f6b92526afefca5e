namespace Coalesce;

/// <summary>
/// The live counters behind <see cref="SharedCallStats"/>. Lock-free; a snapshot reads each counter once,
/// so under load its figures can be a few operations apart, but each is exact on its own.
/// </summary>
internal sealed class SharedCallCounters
{
    private long _hits;
    private long _misses;
    private long _errors;
    private long _active;

    public long Hits => Volatile.Read(ref _hits);

    public long Misses => Volatile.Read(ref _misses);

    public long Errors => Volatile.Read(ref _errors);

    public long Active => Volatile.Read(ref _active);

    public void Hit() => Interlocked.Increment(ref _hits);

    public void Started()
    {
        Interlocked.Increment(ref _misses);
        Interlocked.Increment(ref _active);
    }

    public void Completed(bool failed)
    {
        if (failed)
        {
            Interlocked.Increment(ref _errors);
        }

        Interlocked.Decrement(ref _active);
    }

    public SharedCallStats Snapshot() => new(Hits, Misses, Errors, Active);

    public void Reset()
    {
        Interlocked.Exchange(ref _hits, 0);
        Interlocked.Exchange(ref _misses, 0);
        Interlocked.Exchange(ref _errors, 0);
    }
}
