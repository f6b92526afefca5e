namespace Coalesce.AspNetCore;

/// <summary>
/// Which outcomes of an idempotent endpoint are kept under their key and replayed to retries
/// (<see cref="IdempotencyPolicyBuilder.KeepOutcomes"/>). An outcome that is not kept frees its key: a retry runs the
/// endpoint again. An exception is never kept (no response exists to replay; the app's exception handling answers it).
/// </summary>
[Flags]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1714:Flags enums should have plural names", Justification = "Outcomes is plural.")]
public enum IdempotencyOutcomes
{
    /// <summary>Nothing is kept: every outcome frees its key.</summary>
    None = 0,

    /// <summary>2xx responses.</summary>
    Success = 1,

    /// <summary>3xx responses.</summary>
    Redirection = 2,

    /// <summary>4xx responses: the request was refused, and a retry of the same request would be refused again.</summary>
    ClientError = 4,

    /// <summary>5xx responses; not kept by default, so a retry after a server error runs again.</summary>
    ServerError = 8,

    /// <summary>The default: 2xx and 4xx responses.</summary>
    Default = Success | ClientError,
}
