using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Coalescing figures for one endpoint and method, such as <c>GET /products/{id}</c>.</summary>
/// <param name="Name">The method and route pattern.</param>
/// <param name="Hits">Callers served without running the handler themselves.</param>
/// <param name="Misses">Handler executions.</param>
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

    /// <summary>Keyed requests to an idempotent endpoint that claimed their key and ran it.</summary>
    [JsonPropertyOrder(17)]
    public long IdempotencyClaims { get; init; }

    /// <summary>Keyed requests answered with their key's stored response (<c>Idempotent-Replayed: true</c>).</summary>
    [JsonPropertyOrder(18)]
    public long IdempotencyReplays { get; init; }

    /// <summary>Keyed duplicates answered 409 because their key's first request still ran.</summary>
    [JsonPropertyOrder(19)]
    public long IdempotencyConflicts { get; init; }

    /// <summary>Keyed requests answered 422 because their key came with another request.</summary>
    [JsonPropertyOrder(20)]
    public long IdempotencyMismatches { get; init; }

    /// <summary>Requests answered 400 for a missing required key or a malformed key.</summary>
    [JsonPropertyOrder(21)]
    public long IdempotencyRejections { get; init; }

    /// <summary>Whether <paramref name="other"/> holds the same figures (and the same inputs, in order).</summary>
    /// <param name="other">The figures to compare with.</param>
    /// <returns><see langword="true"/> when every figure is equal.</returns>
    public bool Equals(EndpointCounts? other) =>
        other is not null && Name == other.Name && Hits == other.Hits && Misses == other.Misses && Errors == other.Errors &&
        Active == other.Active && StaleHits == other.StaleHits && StaleOnError == other.StaleOnError &&
        Refreshes == other.Refreshes && RefreshFailures == other.RefreshFailures && InputRefusals == other.InputRefusals &&
        IdempotencyClaims == other.IdempotencyClaims && IdempotencyReplays == other.IdempotencyReplays &&
        IdempotencyConflicts == other.IdempotencyConflicts && IdempotencyMismatches == other.IdempotencyMismatches &&
        IdempotencyRejections == other.IdempotencyRejections &&
        UnkeyedInputs.SequenceEqual(other.UnkeyedInputs);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Hits, Misses, Errors, Active, InputRefusals, UnkeyedInputs.Count);

    /// <summary><c>Hits / (Hits + Misses)</c>, or 0 when there were none.</summary>
    [JsonPropertyOrder(10)]
    public double HitRate => Hits + Misses == 0 ? 0d : (double)Hits / (Hits + Misses);
}
