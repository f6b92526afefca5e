using System.Collections.Concurrent;
using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// This instance's leases (<see cref="RedisLease"/>) from the moment it wins one until it completes: renewal every
/// third of <see cref="RedisCoalescingOptions.LeaseDuration"/> (<see cref="RedisSingleFlightScripts.Renew"/>), the
/// "an instance waits" mark, and completion (<see cref="RedisSingleFlightScripts.Complete"/>): stores the entry, or the
/// fill (only when an instance waits: a first step without the payload asks), each only while no tag was invalidated
/// after the lease's start seq, or sets the pass marker; deletes the lease if it is still this one; and, when an
/// instance waits, publishes the notice. A holder that died never completes: its lease lapses.
/// </summary>
internal sealed class LeaseKeeper
{
    private readonly RedisConnection _connection;
    private readonly RedisKeys _keys;
    private readonly RedisCoalescingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RedisCounters _counters;
    private readonly ConcurrentDictionary<string, RedisLease> _leases = new(StringComparer.Ordinal);
    private volatile bool _stopped;

    public LeaseKeeper(RedisConnection connection, TimeProvider time, ILogger logger, RedisCounters counters)
    {
        _connection = connection;
        _keys = connection.Keys;
        _options = connection.Options;
        _time = time;
        _logger = logger;
        _counters = counters;
        LeaseMilliseconds = (long)Math.Ceiling(_options.LeaseDuration.TotalMilliseconds);
    }

    /// <summary><see cref="RedisCoalescingOptions.LeaseDuration"/> in whole milliseconds, as the scripts take it.</summary>
    public long LeaseMilliseconds { get; }

    /// <summary>Keeps a lease this instance just won, renewing it until it completes.</summary>
    public RedisLease Start(LeaseTarget target, string token, long startSeq)
    {
        var lease = new RedisLease(this, target, token, startSeq);
        _leases[token] = lease;
        lease.StartRenewing(_time, _options.LeaseDuration / 3);
        if (_stopped)
        {
            lease.StopRenewing();
        }

        return lease;
    }

    /// <summary>Another instance waits for the lease <paramref name="token"/>: tells it, if it is one of these.</summary>
    public bool MarkWaitedFor(string token)
    {
        if (!_leases.TryGetValue(token, out var lease))
        {
            return false;
        }

        lease.MarkWaitedFor();
        return true;
    }

    /// <summary>Stops renewing every lease: their executions can't complete through this instance any more.</summary>
    public void StopAll()
    {
        _stopped = true;
        foreach (var (_, lease) in _leases)
        {
            lease.StopRenewing();
        }

        _leases.Clear();
    }

    /// <summary>Ends a lease: shares what it may, deletes it, tells the waiters. Never throws.</summary>
    internal async Task CompleteAsync(RedisLease lease, DistributedCompletion completion)
    {
        lease.StopRenewing();
        _leases.TryRemove(lease.Token, out _);
        if (_stopped)
        {
            return;
        }

        try
        {
            switch (completion.Kind)
            {
                case DistributedCompletionKind.Store:
                    await CompleteWithAsync(lease, FillNotice.Stored, completion.Render!(), Milliseconds(completion.Duration)).ConfigureAwait(false);
                    break;
                case DistributedCompletionKind.Fill:
                    // Sent only if an instance waits for it: most executions (unique keys) are waited for by none.
                    if (await CompleteWithAsync(lease, FillNotice.Offer, null, 0).ConfigureAwait(false) == FillNotice.Offer)
                    {
                        await CompleteWithAsync(lease, FillNotice.Fill, completion.Render!(), Milliseconds(_options.FillTimeToLive)).ConfigureAwait(false);
                    }

                    break;
                case DistributedCompletionKind.Pass:
                    await CompleteWithAsync(lease, FillNotice.Pass, null, Milliseconds(completion.Duration)).ConfigureAwait(false);
                    break;
                default:
                    await CompleteWithAsync(lease, FillNotice.Release, null, 0).ConfigureAwait(false);
                    break;
            }
        }
#pragma warning disable CA1031 // Rendering is the caller's code; a failure ends the lease as released, never throws.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RedisLog.CallFailed(_logger, ex, "complete lease");
            await CompleteWithAsync(lease, FillNotice.Release, null, 0).ConfigureAwait(false);
        }
    }

    /// <summary>Renews a lease while its execution runs; stops when it finds the lease gone or taken.</summary>
    internal async Task RenewAsync(RedisLease lease)
    {
        if (!lease.TryStartRenewal())
        {
            return;
        }

        try
        {
            var renewed = await _connection.ExecuteAsync(
                "renew lease", _options.ReadBudget,
                db => db.ScriptEvaluateAsync(RedisSingleFlightScripts.Renew, [lease.Target.Keys.Lease, lease.Target.Keys.Waiting], [lease.Token, LeaseMilliseconds]),
                CancellationToken.None).ConfigureAwait(false);
            if (renewed is { Succeeded: true, Value: { } value } && (long)value == 0 && !lease.IsCompleted)
            {
                lease.StopRenewing();
                RedisLog.LeaseLost(_logger);
            }
        }
        finally
        {
            lease.EndRenewal();
        }
    }

    /// <summary>Runs <c>Complete</c> once; returns the mode applied, or <see langword="null"/> when Redis gave no answer.</summary>
    private async Task<string?> CompleteWithAsync(RedisLease lease, string mode, byte[]? payload, long milliseconds)
    {
        if (payload is not null && payload.Length > _options.MaxEntryBytes)
        {
            // Too large for Redis: the waiters run their own now rather than wait for each other in turn; the key does
            // not pass through (the response was shareable here).
            if (mode == FillNotice.Stored)
            {
                _counters.L2Refuse();
            }

            RedisLog.EntryTooLarge(_logger, payload.Length, _options.MaxEntryBytes);
            (mode, milliseconds, payload) = (FillNotice.Pass, 0L, null);
        }

        RedisValue[] args =
        [
            RedisSecondLevelScripts.FormatVersion, lease.Target.Key, lease.Target.EncodedTags, mode, lease.Token, lease.StartSeq,
            payload ?? RedisValue.EmptyString, milliseconds, _keys.FillChannel.ToString(), lease.Target.Keys.Hash,
        ];
        var completed = _connection.IsCluster
            ? await CompleteOnClusterAsync(lease, mode, args, milliseconds).ConfigureAwait(false)
            : await _connection.ExecuteAsync(
                "complete lease", _options.ReadBudget,
                db => db.ScriptEvaluateAsync(RedisSingleFlightScripts.Complete, lease.Target.ScriptKeys(_keys, lease.Token), args),
                CancellationToken.None).ConfigureAwait(false);
        if (!completed.Succeeded || completed.Value is null)
        {
            // The waiters find the lease lapsed (or Redis gone) and go on without this result.
            return null;
        }

        var result = (RedisResult[])completed.Value!;
        var applied = (string)result[0]!;
        var published = (long)result[1] == 1;
        switch (applied)
        {
            case FillNotice.Stored:
                _counters.L2Write();
                break;
            case FillNotice.Pass:
                _counters.Pass();
                break;
            case FillNotice.Release when mode is FillNotice.Stored or FillNotice.Fill:
                RedisLog.EntryStale(_logger, lease.StartSeq);
                break;
        }

        if (published && applied is FillNotice.Stored or FillNotice.Fill)
        {
            _counters.FillPublished();
        }

        RedisLog.LeaseCompleted(_logger, applied, mode);
        return applied;
    }

    /// <summary>
    /// <c>Complete</c> on a Redis Cluster: a result to share is first checked (and, to be stored, its stamps made live)
    /// in the shared slot, then the lease ends in the key's own slot with that answer.
    /// </summary>
    private async Task<Attempt<RedisResult>> CompleteOnClusterAsync(RedisLease lease, string mode, RedisValue[] args, long milliseconds)
    {
        var fresh = true;
        if (mode is FillNotice.Stored or FillNotice.Fill)
        {
            var stamps = await _connection.ExecuteAsync(
                "check stamps", _options.ReadBudget,
                db => db.ScriptEvaluateAsync(
                    RedisSecondLevelScripts.ClusterStamps, lease.Target.SeqAndStamps(_keys),
                    [lease.StartSeq, milliseconds, mode == FillNotice.Stored ? "1" : "0"]),
                CancellationToken.None).ConfigureAwait(false);
            if (!stamps.Succeeded || stamps.Value is null)
            {
                return default;
            }

            fresh = (long)stamps.Value == 1;
        }

        RedisValue[] clusterArgs = [.. args, fresh ? "1" : "0"];
        return await _connection.ExecuteAsync(
            "complete lease", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisSingleFlightScripts.ClusterComplete, lease.Target.OwnSlotKeys(lease.Token), clusterArgs),
            CancellationToken.None).ConfigureAwait(false);
    }

    private static long Milliseconds(TimeSpan time) => (long)Math.Ceiling(time.TotalMilliseconds);
}
