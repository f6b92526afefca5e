using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// This instance's idempotency keys: the claims of keyed requests running now, and the finished outcomes kept for their
/// retention. Outcomes live in a <see cref="MemoCache"/> of their own, bounded as the memo cache is
/// (<see cref="RequestCoalescingOptions.MemoMaxEntries"/>, <see cref="RequestCoalescingOptions.MemoMaxBytes"/>,
/// <see cref="RequestCoalescingOptions.MemoMaxEntryBytes"/>), on the app's <see cref="TimeProvider"/>; an outcome evicted
/// under that bound (or too large for it) is forgotten early, and a retry then runs again. Claims exist only while
/// their request runs.
/// </summary>
internal sealed class IdempotencyStore : IDisposable
{
    private readonly ConcurrentDictionary<string, IdempotencyClaim> _claims = new(StringComparer.Ordinal);
    private readonly MemoCache _outcomes;

    public IdempotencyStore(RequestCoalescingOptions options, TimeProvider time, IMeterFactory? meterFactory, ILoggerFactory? loggerFactory)
    {
        _outcomes = new MemoCache(new MemoCacheOptions
        {
            Name = "idempotency",
            MaxEntries = options.MemoMaxEntries,
            MaxBytes = options.MemoMaxBytes,
            MaxEntryBytes = options.MemoMaxEntryBytes,
            TimeProvider = time,
            MeterFactory = meterFactory,
            LoggerFactory = loggerFactory,
        });
    }

    /// <summary>Keyed requests running now.</summary>
    public int ClaimCount => _claims.Count;

    /// <summary>Finished outcomes kept now.</summary>
    public int OutcomeCount => _outcomes.Count;

    public bool TryGetOutcome(string key, out IdempotencyRecord record) => _outcomes.TryGet(key, out record!);

    public void KeepOutcome(string key, IdempotencyRecord record, TimeSpan retention) => _outcomes.Store(key, record, retention, tags: null);

    /// <summary>Claims <paramref name="key"/> for <paramref name="claim"/>, or gives the claim that holds it.</summary>
    public bool TryClaim(string key, IdempotencyClaim claim, out IdempotencyClaim? holder)
    {
        while (true)
        {
            if (_claims.TryAdd(key, claim))
            {
                holder = null;
                return true;
            }

            if (_claims.TryGetValue(key, out holder))
            {
                return false;
            }
        }
    }

    /// <summary>Frees <paramref name="key"/> from <paramref name="claim"/> (its bookkeeping first) and tells its waiters how it ended.</summary>
    public void Release(string key, IdempotencyClaim claim, CapturedResponse? kept)
    {
        _claims.TryRemove(new KeyValuePair<string, IdempotencyClaim>(key, claim));
        claim.Complete(kept);
    }

    public void Dispose() => _outcomes.Dispose();
}
