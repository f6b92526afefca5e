using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Coalescing figures for one endpoint and method, such as <c>GET /products/{id}</c>.</summary>
/// <param name="Name">The method and route pattern.</param>
/// <param name="Hits">Requests served without running the handler themselves: memo hits, collapsed followers and stale answers.</param>
/// <param name="Misses">Handler executions led for a flight others could share (a bypass is not a miss).</param>
/// <param name="Errors">Executions that failed.</param>
/// <param name="Active">Executions in flight now.</param>
public sealed record EndpointCounts(string Name, long Hits, long Misses, long Errors, long Active)
{
    /// <summary>Stale responses served while a background refresh ran (stale-while-revalidate).</summary>
    [JsonPropertyOrder(11)]
    public long StaleHits { get; init; }

    /// <summary>Stale responses served instead of a failed execution (stale-if-error).</summary>
    [JsonPropertyOrder(12)]
    public long StaleOnError { get; init; }

    /// <summary>Background refreshes of stale responses started.</summary>
    [JsonPropertyOrder(13)]
    public long Refreshes { get; init; }

    /// <summary>Background refreshes that failed; the stale response stayed.</summary>
    [JsonPropertyOrder(14)]
    public long RefreshFailures { get; init; }

    /// <summary>
    /// The request inputs the endpoint was seen to read that its key did not hold (<c>header:X-Tenant</c>,
    /// <c>connection:remote-address</c>, ...): requests that differ in one never share a response, and each joined the
    /// endpoint's key when it was first seen. Key one from the first request with the policy (<c>VaryByHeader</c>), or
    /// name it in <c>IgnoredInputs</c> when it never changes the response.
    /// </summary>
    [JsonPropertyOrder(15)]
    public IReadOnlyList<string> UnkeyedInputs { get; init; } = [];

    /// <summary>Responses not shared with a request because one of its inputs differed from the leader's.</summary>
    [JsonPropertyOrder(16)]
    public long InputRefusals { get; init; }

    /// <summary>The request method: <c>GET</c> or <c>HEAD</c>.</summary>
    [JsonPropertyOrder(20)]
    public string Method { get; init; } = "";

    /// <summary>The route pattern (<c>/products/{id}</c>), or the display name of an endpoint without one.</summary>
    [JsonPropertyOrder(21)]
    public string Route { get; init; } = "";

    /// <summary>Requests answered from a memoized response (fresh).</summary>
    [JsonPropertyOrder(22)]
    public long MemoHits { get; init; }

    /// <summary>Requests answered by another request's execution.</summary>
    [JsonPropertyOrder(23)]
    public long Collapsed { get; init; }

    /// <summary>Of <see cref="Collapsed"/>, the followers that streamed the leader's body as it was written.</summary>
    [JsonPropertyOrder(26)]
    public long Streamed { get; init; }

    /// <summary>Requests answered with a stale memoized response, without running the handler.</summary>
    [JsonPropertyOrder(24)]
    public long StaleAnswers { get; init; }

    /// <summary>Handler executions for one request alone, nobody could share (not in <see cref="Misses"/> nor in <see cref="HitRate"/>).</summary>
    [JsonPropertyOrder(25)]
    public long Bypasses { get; init; }

    /// <summary>The same outcomes per second over the last minute.</summary>
    [JsonPropertyOrder(30)]
    public RateCounts? PerSecond { get; init; }

    /// <summary>Keyed requests to an idempotent endpoint that claimed their key and ran it.</summary>
    [JsonPropertyOrder(40)]
    public long IdempotencyClaims { get; init; }

    /// <summary>Keyed requests answered with their key's stored response (<c>Idempotent-Replayed: true</c>).</summary>
    [JsonPropertyOrder(41)]
    public long IdempotencyReplays { get; init; }

    /// <summary>Keyed duplicates answered 409 because their key's first request still ran.</summary>
    [JsonPropertyOrder(42)]
    public long IdempotencyConflicts { get; init; }

    /// <summary>Keyed requests answered 422 because their key came with another request.</summary>
    [JsonPropertyOrder(43)]
    public long IdempotencyMismatches { get; init; }

    /// <summary>Requests answered 400 for a missing required key or a malformed key.</summary>
    [JsonPropertyOrder(44)]
    public long IdempotencyRejections { get; init; }

    /// <summary>Whether <paramref name="other"/> holds the same figures (and the same inputs, in order).</summary>
    /// <param name="other">The figures to compare with.</param>
    /// <returns><see langword="true"/> when every figure is equal.</returns>
    public bool Equals(EndpointCounts? other) =>
        other is not null && Name == other.Name && Hits == other.Hits && Misses == other.Misses && Errors == other.Errors &&
        Active == other.Active && StaleHits == other.StaleHits && StaleOnError == other.StaleOnError &&
        Refreshes == other.Refreshes && RefreshFailures == other.RefreshFailures && InputRefusals == other.InputRefusals &&
        Method == other.Method && Route == other.Route && MemoHits == other.MemoHits && Collapsed == other.Collapsed && Streamed == other.Streamed &&
        StaleAnswers == other.StaleAnswers && Bypasses == other.Bypasses && PerSecond == other.PerSecond &&
        IdempotencyClaims == other.IdempotencyClaims && IdempotencyReplays == other.IdempotencyReplays &&
        IdempotencyConflicts == other.IdempotencyConflicts && IdempotencyMismatches == other.IdempotencyMismatches &&
        IdempotencyRejections == other.IdempotencyRejections &&
        UnkeyedInputs.SequenceEqual(other.UnkeyedInputs);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Hits, Misses, Errors, Active, InputRefusals, UnkeyedInputs.Count);

    /// <summary><c>Hits / (Hits + Misses)</c> rounded to four decimals, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => StatsRounding.Rate(Hits, Misses);
}
