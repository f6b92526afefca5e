using System.Buffers;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>
/// Checks at start-up what the <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on
/// <see cref="HttpCoalescingOptions"/> cannot say (those are checked by <see cref="HttpCoalescingOptionsRangeValidator"/>):
/// rules across options, header names, addresses, the retry strategy. Every message names the client and the option.
/// </summary>
internal sealed class HttpCoalescingOptionsValidator : IValidateOptions<HttpCoalescingOptions>
{
    private static readonly TimeSpan OneDay = TimeSpan.FromDays(1);

    /// <summary>The characters of an HTTP field name (RFC 9110's <c>token</c>).</summary>
    private static readonly SearchValues<char> HeaderNameChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    public ValidateOptionsResult Validate(string? name, HttpCoalescingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string>? failures = null;
        var client = string.IsNullOrEmpty(name) ? "HttpClient" : $"HttpClient '{name}'";

        foreach (var header in options.IgnoreHeaders)
        {
            if (string.IsNullOrWhiteSpace(header))
            {
                Add($"{nameof(HttpCoalescingOptions.IgnoreHeaders)} contains an empty header name.");
            }
            else if (header.AsSpan().ContainsAnyExcept(HeaderNameChars))
            {
                Add($"{nameof(HttpCoalescingOptions.IgnoreHeaders)} contains '{header}', which is not a header name (letters, digits and !#$%&'*+-.^_`|~ only).");
            }
            else if (HttpRequestKey.IsCredential(header))
            {
                Add($"{nameof(HttpCoalescingOptions.IgnoreHeaders)} contains '{header}', a credential; credentials always stay in the key, so two identities never share a response.");
            }
        }

        foreach (var option in options.IgnoreRequestOptions)
        {
            if (string.IsNullOrWhiteSpace(option))
            {
                Add($"{nameof(HttpCoalescingOptions.IgnoreRequestOptions)} contains an empty request option key.");
            }
        }

        CheckWindow(options.MemoizeStaleWhileRevalidate, nameof(HttpCoalescingOptions.MemoizeStaleWhileRevalidate));
        CheckWindow(options.MemoizeStaleIfError, nameof(HttpCoalescingOptions.MemoizeStaleIfError));
        if (options.MemoizeSoftTimeout is not null && options.MemoizeStaleIfError is null)
        {
            Add($"{nameof(HttpCoalescingOptions.MemoizeSoftTimeout)} is set without {nameof(HttpCoalescingOptions.MemoizeStaleIfError)}; a soft timeout answers with a stale response, so it needs that window.");
        }

        foreach (var tag in options.MemoizeTags)
        {
            if (string.IsNullOrWhiteSpace(tag))
            {
                Add($"{nameof(HttpCoalescingOptions.MemoizeTags)} contains an empty tag.");
            }
        }

        for (var i = 0; i < options.FallbackBaseAddresses.Count; i++)
        {
            var address = options.FallbackBaseAddresses[i];
            if (address is null || !address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps) ||
                address.AbsolutePath != "/" || address.Query.Length > 0 || address.Fragment.Length > 0)
            {
                Add($"{nameof(HttpCoalescingOptions.FallbackBaseAddresses)}[{i}] is '{address}'; it must be an absolute http or https URI with no path, query or fragment, such as 'https://replica.example:8443'.");
            }
        }

        if (options.Retry is { } retry)
        {
            // The ranges Polly checks when the pipeline is built, checked here so a bad value stops the app at start-up.
            const string Retry = nameof(HttpCoalescingOptions.Retry);
            if (retry.MaxRetryAttempts is < 1 or > 100)
            {
                Add($"{Retry}.{nameof(retry.MaxRetryAttempts)} is {retry.MaxRetryAttempts}; it must be between 1 and 100 (set {Retry} to null for no retries).");
            }

            if (retry.Delay < TimeSpan.Zero || retry.Delay > OneDay)
            {
                Add($"{Retry}.{nameof(retry.Delay)} is {retry.Delay}; it must be between zero and 1 day.");
            }

            if (retry.MaxDelay is { } maxDelay && (maxDelay < TimeSpan.Zero || maxDelay > OneDay))
            {
                Add($"{Retry}.{nameof(retry.MaxDelay)} is {maxDelay}; it must be between zero and 1 day, or null for none.");
            }

            if (!Enum.IsDefined(retry.BackoffType))
            {
                Add($"{Retry}.{nameof(retry.BackoffType)} is {(int)retry.BackoffType}; it must be Constant, Linear or Exponential.");
            }

            if (retry.ShouldHandle is null)
            {
                Add($"{Retry}.{nameof(retry.ShouldHandle)} is null; it must decide which outcomes are retried.");
            }
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void CheckWindow(TimeSpan? value, string option)
        {
            if (value is null)
            {
                return;
            }

            // Its range is checked by the generated validator.
            if (options.MemoizeTtl is null)
            {
                Add($"{option} is set without {nameof(HttpCoalescingOptions.MemoizeTtl)}; a stale window follows the time to live of memoized responses, so it needs memoization on.");
            }
        }

        void Add(string failure) => (failures ??= []).Add($"{client}: {failure}");
    }
}

/// <summary>The ranges written as <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on <see cref="HttpCoalescingOptions"/> and <see cref="HttpRateLimitOptions"/>, checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class HttpCoalescingOptionsRangeValidator : IValidateOptions<HttpCoalescingOptions>;
