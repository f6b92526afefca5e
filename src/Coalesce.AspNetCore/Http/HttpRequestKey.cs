using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// The coalescing key of one client's outbound requests: the whole request the handler is given. Method, absolute URI
/// and HTTP version in clear; then every request header but the ignored ones (sorted by lower-case name) and every
/// request option but the ignored ones (sorted by key), as one truncated SHA-256 (128 bits), so header values such as
/// credentials and API keys are never held in clear. Every part is length-prefixed, so no two requests meet by
/// accident; see <see cref="HttpCoalescingOptions.Coalesce"/> for how option values compare.
/// </summary>
/// <remarks>
/// Allocation-light, as it runs on every outbound call: both texts are built on the stack, and only the key string is
/// allocated (plus the options' enumerator when the request has options, and a sorting buffer from the pool when it has
/// more than one header).
/// </remarks>
internal sealed class HttpRequestKey
{
    private const int HashBytes = 16;
    private const int MaxNameOnStack = 128;

    private readonly FrozenSet<string> _ignoredHeaders;
    private readonly FrozenSet<string> _ignoredOptions;

    /// <summary>
    /// A number per option value compared by reference, given the first time the value is seen and never reused. Weak:
    /// an object dropped by every request leaves the table with it.
    /// </summary>
    private readonly ConditionalWeakTable<object, object> _referenceIds = [];
    private readonly ConditionalWeakTable<object, object>.CreateValueCallback _newReferenceId;
    private long _lastReferenceId;

    public HttpRequestKey(IEnumerable<string> ignoreHeaders, IEnumerable<string> ignoreRequestOptions)
    {
        _ignoredHeaders = ignoreHeaders.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        _ignoredOptions = ignoreRequestOptions.ToFrozenSet(StringComparer.Ordinal);
        _newReferenceId = _ => Interlocked.Increment(ref _lastReferenceId);
    }

    /// <summary>Whether <paramref name="header"/> carries the caller's credentials, which always stay in the key.</summary>
    public static bool IsCredential(string header) =>
        header.Equals(HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase) ||
        header.Equals(HeaderNames.ProxyAuthorization, StringComparison.OrdinalIgnoreCase) ||
        header.Equals(HeaderNames.Cookie, StringComparison.OrdinalIgnoreCase);

    public string Build(HttpRequestMessage request)
    {
        var key = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[256]);
        RequestKeyBuilder.Append(ref key, request.Method.Method);
        RequestKeyBuilder.Append(ref key, request.RequestUri is { IsAbsoluteUri: true } uri ? uri.AbsoluteUri : request.RequestUri?.OriginalString);
        key.AppendLiteral("V");
        key.AppendFormatted(request.Version.Major);
        key.AppendLiteral(".");
        key.AppendFormatted(request.Version.Minor);
        key.AppendLiteral(".");
        key.AppendFormatted((int)request.VersionPolicy);

        var text = new DefaultInterpolatedStringHandler(0, 0, CultureInfo.InvariantCulture, stackalloc char[512]);
        AppendHeaders(ref text, request.Headers.NonValidated);
        AppendOptions(ref text, request.Options);
        if (text.Text.IsEmpty)
        {
            key.AppendLiteral("H-");
        }
        else
        {
            AppendHash(ref key, text.Text);
        }

        text.Clear();
        return key.ToStringAndClear();
    }

    private void AppendHeaders(ref DefaultInterpolatedStringHandler text, HttpHeadersNonValidated headers)
    {
        var count = headers.Count;
        if (count == 0)
        {
            return;
        }

        // Sorted by name, so calls that add the same headers in another order still meet.
        var sorted = ArrayPool<KeyValuePair<string, HeaderStringValues>>.Shared.Rent(count);
        var kept = 0;
        foreach (var header in headers)
        {
            if (!_ignoredHeaders.Contains(header.Key))
            {
                sorted[kept++] = header;
            }
        }

        var span = sorted.AsSpan(0, kept);
        if (kept > 1)
        {
            span.Sort(static (a, b) => StringComparer.OrdinalIgnoreCase.Compare(a.Key, b.Key));
        }

        // A header's own spelling is kept as the caller wrote it (x-api-key or X-Api-Key): one case makes them meet.
        Span<char> lower = stackalloc char[MaxNameOnStack];
        foreach (var (name, values) in span)
        {
            text.AppendLiteral("H");
            text.AppendFormatted(name.Length);
            text.AppendLiteral(":");
            if (name.Length <= MaxNameOnStack)
            {
                text.AppendFormatted(lower[..name.AsSpan().ToLowerInvariant(lower)]);
            }
            else
            {
                text.AppendLiteral(name.ToLowerInvariant());
            }

            text.AppendFormatted(values.Count);
            text.AppendLiteral("#");
            foreach (var value in values)
            {
                RequestKeyBuilder.Append(ref text, value);
            }
        }

        span.Clear();
        ArrayPool<KeyValuePair<string, HeaderStringValues>>.Shared.Return(sorted);
    }

    private void AppendOptions(ref DefaultInterpolatedStringHandler text, HttpRequestOptions options)
    {
        IDictionary<string, object?> all = options;
        if (all.Count == 0)
        {
            return;
        }

        var sorted = ArrayPool<KeyValuePair<string, object?>>.Shared.Rent(all.Count);
        var kept = 0;
        foreach (var option in all)
        {
            if (!_ignoredOptions.Contains(option.Key))
            {
                sorted[kept++] = option;
            }
        }

        var span = sorted.AsSpan(0, kept);
        if (kept > 1)
        {
            span.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        }

        foreach (var (name, value) in span)
        {
            text.AppendLiteral("O");
            RequestKeyBuilder.Append(ref text, name);
            AppendOptionValue(ref text, value);
        }

        span.Clear();
        ArrayPool<KeyValuePair<string, object?>>.Shared.Return(sorted);
    }

    /// <summary>
    /// A value the handler can compare by value (strings, primitives, enums and the framework's value types of dates,
    /// times, numbers and ids) is written with its type and its invariant, round-trip text; anything else by a number
    /// that stands for that very object.
    /// </summary>
    private void AppendOptionValue(ref DefaultInterpolatedStringHandler text, object? value)
    {
        switch (value)
        {
            case null:
                text.AppendLiteral("~");
                return;
            case string s:
                text.AppendLiteral("s");
                RequestKeyBuilder.Append(ref text, s);
                return;
            case bool b:
                text.AppendLiteral(b ? "t" : "f");
                return;
        }

        if (FormatOf(value) is not { } format)
        {
            text.AppendLiteral("r");
            text.AppendFormatted((long)_referenceIds.GetValue(value, _newReferenceId));
            return;
        }

        text.AppendLiteral("v");
        RequestKeyBuilder.Append(ref text, value.GetType().FullName);
        Span<char> formatted = stackalloc char[64];
        if (value is ISpanFormattable spanFormattable && spanFormattable.TryFormat(formatted, out var written, format, CultureInfo.InvariantCulture))
        {
            text.AppendFormatted(written);
            text.AppendLiteral(":");
            text.AppendFormatted(formatted[..written]);
        }
        else
        {
            RequestKeyBuilder.Append(ref text, ((IFormattable)value).ToString(format.Length == 0 ? null : format, CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The round-trip format of a value compared by value; <see langword="null"/> for one compared by reference.</summary>
    private static string? FormatOf(object value) => value switch
    {
        Enum => "D",
        DateTime or DateTimeOffset or DateOnly or TimeOnly => "O",
        TimeSpan => "c",
        float or double or Half => "R",
        decimal or Guid or Int128 or UInt128 => "",
        _ when value.GetType().IsPrimitive => "",
        _ => null,
    };

    /// <summary>The first 128 bits of the SHA-256 of the text's UTF-16 code units: no encoding step, so no two texts meet.</summary>
    private static void AppendHash(ref DefaultInterpolatedStringHandler key, ReadOnlySpan<char> text)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(text), hash);
        Span<char> hex = stackalloc char[HashBytes * 2];
        Convert.TryToHexString(hash[..HashBytes], hex, out _);
        key.AppendLiteral("H");
        key.AppendFormatted(hex);
    }
}
