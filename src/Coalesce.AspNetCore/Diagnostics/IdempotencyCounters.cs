namespace Coalesce.AspNetCore;

/// <summary>
/// What an idempotent endpoint did with keyed requests of one method: each request counts once, under one figure, in
/// <c>/_coalesce/stats</c> and on the <c>coalesce.server.idempotent_requests</c> instrument.
/// </summary>
internal sealed class IdempotencyCounters(EndpointCounters endpoint)
{
    public const string Claimed = "claimed";
    public const string Replayed = "replayed";
    public const string Conflict = "conflict";
    public const string Mismatch = "mismatch";
    public const string Rejected = "rejected";

    private long _claims;
    private long _replays;
    private long _conflicts;
    private long _mismatches;
    private long _rejections;

    /// <summary>Requests that claimed their key and ran the endpoint.</summary>
    public long Claims => Volatile.Read(ref _claims);

    /// <summary>Requests answered with the stored (or waited-for) response of their key.</summary>
    public long Replays => Volatile.Read(ref _replays);

    /// <summary>Duplicates that arrived while their key's first request ran, answered 409.</summary>
    public long Conflicts => Volatile.Read(ref _conflicts);

    /// <summary>Requests whose key was used with another request (another fingerprint), answered 422.</summary>
    public long Mismatches => Volatile.Read(ref _mismatches);

    /// <summary>Requests without a required key, or with a malformed one, answered 400.</summary>
    public long Rejections => Volatile.Read(ref _rejections);

    public void Count(string result)
    {
        switch (result)
        {
            case Claimed: Interlocked.Increment(ref _claims); break;
            case Replayed: Interlocked.Increment(ref _replays); break;
            case Conflict: Interlocked.Increment(ref _conflicts); break;
            case Mismatch: Interlocked.Increment(ref _mismatches); break;
            default: Interlocked.Increment(ref _rejections); break;
        }

        endpoint.Metrics?.IdempotentRequest(endpoint, result);
    }
}
