namespace Coalesce.AspNetCore;

/// <summary>An endpoint's idempotency settings, built once by <see cref="IdempotencyPolicyBuilder"/> and read per request.</summary>
internal sealed class IdempotencyPolicy
{
    /// <summary>How long a finished outcome is kept by default: 24 hours.</summary>
    public static readonly TimeSpan DefaultKeepFor = TimeSpan.FromHours(24);

    /// <summary>The longest an outcome can be kept: 365 days.</summary>
    public static readonly TimeSpan MaxKeepFor = TimeSpan.FromDays(365);

    public const string DefaultHeaderName = "Idempotency-Key";

    public bool RequireKey { get; init; }

    public TimeSpan KeepFor { get; init; } = DefaultKeepFor;

    public bool WaitForDuplicates { get; init; }

    public string HeaderName { get; init; } = DefaultHeaderName;

    public IdempotencyOutcomes KeepOutcomes { get; init; } = IdempotencyOutcomes.Default;

    /// <summary>Whether a response with <paramref name="statusCode"/> is kept under its key.</summary>
    public bool Keeps(int statusCode) => statusCode switch
    {
        >= 200 and < 300 => (KeepOutcomes & IdempotencyOutcomes.Success) != 0,
        >= 300 and < 400 => (KeepOutcomes & IdempotencyOutcomes.Redirection) != 0,
        >= 400 and < 500 => (KeepOutcomes & IdempotencyOutcomes.ClientError) != 0,
        >= 500 and < 600 => (KeepOutcomes & IdempotencyOutcomes.ServerError) != 0,
        _ => false,
    };

    public override string ToString() =>
        $"key header {HeaderName}{(RequireKey ? " (required)" : "")}, outcomes {KeepOutcomes} kept for {KeepFor}, duplicates in progress {(WaitForDuplicates ? "wait" : "get 409")}";
}
