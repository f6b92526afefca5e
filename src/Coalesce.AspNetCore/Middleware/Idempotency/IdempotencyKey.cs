using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>
/// Reads the idempotency key a request sent and scopes it: the stored key is a SHA-256 of the caller's identity (as
/// the coalescing key hashes it), the method, the endpoint and the key, so two callers' keys never meet, and neither
/// the key nor a credential is kept in clear text.
/// </summary>
internal static class IdempotencyKey
{
    /// <summary>The longest key accepted, in characters (as Stripe's).</summary>
    public const int MaxLength = 255;

    /// <summary>
    /// The key in <paramref name="values"/>: one header value, either a Structured Field string (<c>"abc"</c>, as the
    /// draft writes it) or the bare text most clients send (without a comma, which joins header lines), of 1 to <see cref="MaxLength"/> visible ASCII characters.
    /// </summary>
    /// <returns>The key, or <see langword="null"/> with <paramref name="problem"/> saying what is wrong (never the key itself).</returns>
    public static string? TryRead(StringValues values, string headerName, out string? problem)
    {
        problem = null;
        if (values.Count != 1 || values[0] is not { } text)
        {
            problem = $"The request sent {values.Count} {headerName} headers; send one.";
            return null;
        }

        if (text.Length >= 2 && text[0] == '"' && text[^1] == '"')
        {
            // An sf-string, as the draft writes keys: may hold anything visible, a comma too.
            text = Unquote(text.AsSpan(1, text.Length - 2));
            if (text is null)
            {
                problem = $"The {headerName} header is a quoted string with a stray quote or backslash.";
                return null;
            }
        }
        else if (text.Contains(',', StringComparison.Ordinal))
        {
            // Bare, a comma is where a client or proxy joined two header lines: no way to tell which key was meant.
            problem = $"The {headerName} header holds a comma: send one key, quoted (\"...\") if it contains a comma.";
            return null;
        }

        if (text.Length is 0 or > MaxLength)
        {
            problem = $"The {headerName} header must hold 1 to {MaxLength} characters; it holds {text.Length}.";
            return null;
        }

        foreach (var c in text)
        {
            if (c is < (char)0x20 or > (char)0x7E)
            {
                problem = $"The {headerName} header may hold visible ASCII characters and spaces only.";
                return null;
            }
        }

        return text;
    }

    /// <summary>The key as stored: a hash of who asks, which endpoint and method, and the key.</summary>
    public static string Scope(HttpContext context, EndpointState state, string key)
    {
        var text = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[256]);
        RequestKeyBuilder.Append(ref text, context.Request.Method);
        RequestKeyBuilder.Append(ref text, state.Name);
        RequestKeyBuilder.Append(ref text, key);
        RequestKeyBuilder.AppendIdentity(ref text, context, RequestInputs.UnrecordedHeaders(context), state.IdentityHeaders, state.IdentityHeaderReaders);
        var chars = text.ToStringAndClear();

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(chars), hash);
        return "idem:" + Convert.ToHexString(hash);
    }

    /// <summary>An sf-string's content with its escapes (<c>\"</c>, <c>\\</c>) undone; <see langword="null"/> when malformed.</summary>
    private static string? Unquote(ReadOnlySpan<char> quoted)
    {
        var builder = new StringBuilder(quoted.Length);
        for (var i = 0; i < quoted.Length; i++)
        {
            var c = quoted[i];
            if (c == '"')
            {
                return null;
            }

            if (c == '\\')
            {
                if (++i == quoted.Length || quoted[i] is not ('"' or '\\'))
                {
                    return null;
                }

                c = quoted[i];
            }

            builder.Append(c);
        }

        return builder.ToString();
    }
}
