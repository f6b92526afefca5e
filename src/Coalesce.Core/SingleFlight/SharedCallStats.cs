namespace Coalesce;

/// <summary>A snapshot of single-flight statistics.</summary>
/// <param name="Hits">Callers served by a flight another caller started, without running the work.</param>
/// <param name="Misses">Real executions of the work.</param>
/// <param name="Errors">Executions that failed, counted once per execution rather than once per waiter.</param>
/// <param name="Active">Executions in flight now.</param>
public readonly record struct SharedCallStats(long Hits, long Misses, long Errors, long Active)
{
    /// <summary><c>Hits / (Hits + Misses)</c>, or 0 when there were no calls.</summary>
    public double HitRate => Hits + Misses == 0 ? 0d : (double)Hits / (Hits + Misses);
}
