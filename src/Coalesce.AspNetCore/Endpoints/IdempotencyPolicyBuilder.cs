namespace Coalesce.AspNetCore;

/// <summary>
/// Shapes how one endpoint (or a group) answers requests that carry an idempotency key: whether the key is required,
/// how long an outcome is kept, what a duplicate that arrives while the first still runs gets, the header's name and
/// which outcomes are kept. Used through <c>WithIdempotency(p =&gt; ...)</c>. docs/idempotency.md in the repository has
/// the semantics.
/// </summary>
public sealed class IdempotencyPolicyBuilder
{
    private bool _requireKey;
    private TimeSpan _keepFor = IdempotencyPolicy.DefaultKeepFor;
    private bool _waitForDuplicates;
    private string _headerName = IdempotencyPolicy.DefaultHeaderName;
    private IdempotencyOutcomes _keepOutcomes = IdempotencyOutcomes.Default;

    /// <summary>
    /// A POST, PUT, PATCH or DELETE without the key header is answered 400 (problem details) without running the
    /// endpoint. Default: a request without a key runs as usual, with no guarantee.
    /// </summary>
    /// <returns>This builder.</returns>
    public IdempotencyPolicyBuilder RequireKey()
    {
        _requireKey = true;
        return this;
    }

    /// <summary>
    /// How long a finished outcome is kept under its key and replayed to retries; afterwards the key runs again.
    /// Default: 24 hours. Range: more than zero, at most 365 days.
    /// </summary>
    /// <param name="retention">How long to keep an outcome.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="retention"/> is out of range.</exception>
    public IdempotencyPolicyBuilder KeepFor(TimeSpan retention)
    {
        if (retention <= TimeSpan.Zero || retention > IdempotencyPolicy.MaxKeepFor)
        {
            throw new ArgumentOutOfRangeException(nameof(retention), retention, $"KeepFor is {retention}; it must be more than zero and at most {IdempotencyPolicy.MaxKeepFor.TotalDays} days.");
        }

        _keepFor = retention;
        return this;
    }

    /// <summary>
    /// A duplicate that arrives while the first request with its key still runs waits for it (at most the wait
    /// timeout, and while its own client stays) and gets the same response, marked as a replay; when that outcome is
    /// not kept, the duplicate runs the endpoint itself. Default: such a duplicate gets 409 Conflict at once.
    /// </summary>
    /// <returns>This builder.</returns>
    public IdempotencyPolicyBuilder WaitForDuplicates()
    {
        _waitForDuplicates = true;
        return this;
    }

    /// <summary>The request header that carries the key. Default: <c>Idempotency-Key</c>.</summary>
    /// <param name="name">A header name (an HTTP token).</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or not a valid header name.</exception>
    public IdempotencyPolicyBuilder HeaderName(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!IsToken(name))
        {
            throw new ArgumentException($"'{name}' is not a valid header name: use letters, digits and !#$%&'*+-.^_`|~ only.", nameof(name));
        }

        _headerName = name;
        return this;
    }

    /// <summary>
    /// Which outcomes are kept and replayed; any other frees its key, so a retry runs again. An exception is never
    /// kept. Default: <see cref="IdempotencyOutcomes.Default"/> (2xx and 4xx).
    /// </summary>
    /// <param name="outcomes">The outcomes to keep.</param>
    /// <returns>This builder.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="outcomes"/> holds an undefined flag.</exception>
    public IdempotencyPolicyBuilder KeepOutcomes(IdempotencyOutcomes outcomes)
    {
        const IdempotencyOutcomes All = IdempotencyOutcomes.Success | IdempotencyOutcomes.Redirection | IdempotencyOutcomes.ClientError | IdempotencyOutcomes.ServerError;
        if ((outcomes & ~All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(outcomes), outcomes, "KeepOutcomes takes Success, Redirection, ClientError and ServerError (or None).");
        }

        _keepOutcomes = outcomes;
        return this;
    }

    internal IdempotencyPolicy Build() => new()
    {
        RequireKey = _requireKey,
        KeepFor = _keepFor,
        WaitForDuplicates = _waitForDuplicates,
        HeaderName = _headerName,
        KeepOutcomes = _keepOutcomes,
    };

    private static bool IsToken(string name)
    {
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal)))
            {
                return false;
            }
        }

        return true;
    }
}
