namespace Coalesce.AspNetCore;

/// <summary>
/// One endpoint's requests by outcome, each request in exactly one of the first five: answered from the memo, by
/// another request's execution (collapsed), by a stale response, by an execution it led (a miss), or by one it ran
/// alone (a bypass: a ranged or conditional request with nothing to follow, a key passing through, a key function
/// that failed).
/// </summary>
internal readonly record struct OutcomeTotals(long MemoHits, long Collapsed, long StaleAnswers, long Misses, long Bypasses, long Errors, long Active)
{
    /// <summary>Requests answered without running the endpoint themselves.</summary>
    public long Hits => MemoHits + Collapsed + StaleAnswers;

    public static OutcomeTotals operator +(OutcomeTotals a, OutcomeTotals b) => new(
        a.MemoHits + b.MemoHits, a.Collapsed + b.Collapsed, a.StaleAnswers + b.StaleAnswers, a.Misses + b.Misses,
        a.Bypasses + b.Bypasses, a.Errors + b.Errors, a.Active + b.Active);

    public static OutcomeTotals operator -(OutcomeTotals a, OutcomeTotals b) => new(
        a.MemoHits - b.MemoHits, a.Collapsed - b.Collapsed, a.StaleAnswers - b.StaleAnswers, a.Misses - b.Misses,
        a.Bypasses - b.Bypasses, a.Errors - b.Errors, a.Active - b.Active);
}
