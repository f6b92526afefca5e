using System.Collections.Concurrent;
using System.Security.Cryptography;
using Coalesce.AspNetCore;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Idempotency keys on Redis (<see cref="RedisIdempotencyScripts"/>): an atomic claim with the fingerprint, a lease of
/// <see cref="RedisCoalescingOptions.LeaseDuration"/> renewed every third of it while the endpoint runs, and the outcome
/// kept for the policy's retention. Each call has the read budget; a failure, a timeout or an open breaker is
/// <see cref="DistributedClaimKind.Unavailable"/>. Once the instance is disposed, its leases stop renewing and never
/// complete, as for a holder that died: the key stays claimed until the lease lapses, and a retry then runs (the work
/// of the request that held it may have happened; the application's transaction decides).
/// </summary>
internal sealed class RedisIdempotency(RedisConnection connection, TimeProvider time, ILogger<RedisIdempotency> logger) : IDistributedIdempotency, IDisposable
{
    private const byte ClaimMark = (byte)'c';
    private const byte OutcomeMark = (byte)'o';
    private const int TokenLength = 32;
    private const int FingerprintLength = SHA256.HashSizeInBytes;

    private readonly RedisCoalescingOptions _options = connection.Options;
    private readonly ConcurrentDictionary<Lease, byte> _leases = new();
    private volatile bool _stopped;

    public bool Enabled => true;

    public TimeSpan RetryInterval => _options.RemoteWaitPollInterval;

    private long LeaseMilliseconds => (long)Math.Ceiling(_options.LeaseDuration.TotalMilliseconds);

    public async ValueTask<DistributedClaim> TryClaimAsync(string key, byte[] fingerprint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(fingerprint);
        if (_stopped)
        {
            return DistributedClaim.Unavailable;
        }

        var claim = new byte[1 + TokenLength + fingerprint.Length];
        claim[0] = ClaimMark;
        System.Text.Encoding.ASCII.GetBytes(Guid.NewGuid().ToString("N"), claim.AsSpan(1, TokenLength));
        fingerprint.CopyTo(claim, 1 + TokenLength);
        var redisKey = connection.Keys.Idempotency(key);
        var answer = await connection.ExecuteAsync(
            "idempotency claim", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisIdempotencyScripts.Claim, [redisKey], [claim, LeaseMilliseconds]), cancellationToken).ConfigureAwait(false);
        if (!answer.Succeeded || answer.Value is not { } result || result.IsNull)
        {
            return DistributedClaim.Unavailable;
        }

        if (result.Resp2Type == ResultType.Integer)
        {
            var lease = new Lease(this, redisKey, claim);
            _leases[lease] = 0;
            lease.StartRenewing(time, _options.LeaseDuration / 3);
            if (_stopped)
            {
                lease.Abandon();
            }

            return new DistributedClaim(DistributedClaimKind.Claimed, Lease: lease);
        }

        var held = (byte[])result!;
        if (held.Length >= 1 + TokenLength + FingerprintLength && held[0] == ClaimMark)
        {
            return new DistributedClaim(DistributedClaimKind.Held, held.AsSpan(1 + TokenLength, FingerprintLength).ToArray());
        }

        if (held.Length >= 1 + FingerprintLength && held[0] == OutcomeMark)
        {
            return new DistributedClaim(DistributedClaimKind.Outcome, held.AsSpan(1, FingerprintLength).ToArray(), held.AsSpan(1 + FingerprintLength).ToArray());
        }

        RedisLog.IdempotencyValueUnreadable(logger, held.Length);
        return DistributedClaim.Unavailable;
    }

    /// <summary>Stops renewing every lease; none of them completes any more (see the class remarks).</summary>
    public void Dispose()
    {
        _stopped = true;
        foreach (var (lease, _) in _leases)
        {
            lease.Abandon();
        }

        _leases.Clear();
    }

    private async Task CompleteAsync(Lease lease, byte[]? payload, TimeSpan retention)
    {
        _leases.TryRemove(lease, out _);
        if (_stopped)
        {
            return;
        }

        byte[] outcome = [];
        if (payload is not null)
        {
            if (payload.Length > _options.MaxEntryBytes)
            {
                // Too large to share: the key is freed, so a retry on another instance runs again (this one still replays it).
                RedisLog.IdempotencyOutcomeTooLarge(logger, payload.Length, _options.MaxEntryBytes);
            }
            else
            {
                outcome = new byte[1 + FingerprintLength + payload.Length];
                outcome[0] = OutcomeMark;
                lease.Claim.AsSpan(1 + TokenLength, FingerprintLength).CopyTo(outcome.AsSpan(1));
                payload.CopyTo(outcome, 1 + FingerprintLength);
            }
        }

        var retentionMs = (long)Math.Ceiling(retention.TotalMilliseconds);
        await connection.ExecuteAsync(
            "idempotency complete", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisIdempotencyScripts.Complete, [lease.Key], [lease.Claim, outcome, retentionMs]), CancellationToken.None)
            .ConfigureAwait(false);
    }

    private async Task RenewAsync(Lease lease) =>
        await connection.ExecuteAsync(
            "idempotency renew", _options.ReadBudget,
            db => db.ScriptEvaluateAsync(RedisIdempotencyScripts.Renew, [lease.Key], [lease.Claim, LeaseMilliseconds]), CancellationToken.None).ConfigureAwait(false);

    /// <summary>One claim this instance holds: renewed on a timer until it completes or the instance stops.</summary>
    private sealed class Lease(RedisIdempotency owner, RedisKey key, byte[] claim) : IDistributedIdempotencyLease
    {
        private ITimer? _renewal;
        private int _done;

        public RedisKey Key { get; } = key;

        public byte[] Claim { get; } = claim;

        public void StartRenewing(TimeProvider time, TimeSpan every) =>
            _renewal = time.CreateTimer(static state => _ = ((Lease)state!).RenewQuietlyAsync(), this, every, every);

        public Task CompleteAsync(byte[]? payload, TimeSpan retention)
        {
            if (Interlocked.Exchange(ref _done, 1) == 1)
            {
                return Task.CompletedTask;
            }

            _renewal?.Dispose();
            return owner.CompleteAsync(this, payload, retention);
        }

        /// <summary>Stops renewing without completing: the claim lapses with its lease.</summary>
        public void Abandon()
        {
            Interlocked.Exchange(ref _done, 1);
            _renewal?.Dispose();
        }

        private async Task RenewQuietlyAsync()
        {
            if (Volatile.Read(ref _done) == 0)
            {
                await owner.RenewAsync(this).ConfigureAwait(false);
            }
        }
    }
}
