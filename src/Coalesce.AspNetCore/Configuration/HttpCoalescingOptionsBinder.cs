using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Http.Resilience;
using static Coalesce.AspNetCore.ConfigurationReader;

namespace Coalesce.AspNetCore;

/// <summary>
/// Binds <see cref="HttpCoalescingOptions"/> from a configuration section: keys named as the properties, times as
/// <c>hh:mm:ss</c> (an empty value switches an optional one off), lists as JSON arrays that replace the defaults, and
/// <c>Retry</c> and <c>RateLimit</c> as sub-sections (an empty value switches them off). Delegates such as
/// <c>Retry.ShouldHandle</c> and <see cref="HttpCoalescingOptions.FallbackResponse"/> stay as
/// code sets them.
/// </summary>
internal static class HttpCoalescingOptionsBinder
{
    private const string Options = nameof(HttpCoalescingOptions);

    public static void Bind(IConfiguration section, HttpCoalescingOptions options)
    {
        options.Coalesce = ReadBool(section, nameof(options.Coalesce), options.Coalesce, Name(nameof(options.Coalesce)));
        options.MaxResponseBodyBytes = ReadLong(section, nameof(options.MaxResponseBodyBytes), options.MaxResponseBodyBytes, Name(nameof(options.MaxResponseBodyBytes)));
        options.RetryUnsafeMethods = ReadBool(section, nameof(options.RetryUnsafeMethods), options.RetryUnsafeMethods, Name(nameof(options.RetryUnsafeMethods)));
        options.AttemptTimeout = ReadOptionalTimeSpan(section, nameof(options.AttemptTimeout), options.AttemptTimeout, Name(nameof(options.AttemptTimeout)));
        options.TotalTimeout = ReadOptionalTimeSpan(section, nameof(options.TotalTimeout), options.TotalTimeout, Name(nameof(options.TotalTimeout)));
        options.MemoizeTtl = ReadOptionalTimeSpan(section, nameof(options.MemoizeTtl), options.MemoizeTtl, Name(nameof(options.MemoizeTtl)));
        options.MemoizeStaleWhileRevalidate = ReadOptionalTimeSpan(
            section, nameof(options.MemoizeStaleWhileRevalidate), options.MemoizeStaleWhileRevalidate, Name(nameof(options.MemoizeStaleWhileRevalidate)));
        options.MemoizeStaleIfError = ReadOptionalTimeSpan(section, nameof(options.MemoizeStaleIfError), options.MemoizeStaleIfError, Name(nameof(options.MemoizeStaleIfError)));
        options.MemoizeSoftTimeout = ReadOptionalTimeSpan(section, nameof(options.MemoizeSoftTimeout), options.MemoizeSoftTimeout, Name(nameof(options.MemoizeSoftTimeout)));
        ReplaceList(section, nameof(options.IgnoreHeaders), options.IgnoreHeaders, static v => v);
        ReplaceList(section, nameof(options.IgnoreRequestOptions), options.IgnoreRequestOptions, static v => v);
#pragma warning disable CS0618 // Still bound, so configuration written for it keeps loading; it has no effect.
        ReplaceList(section, nameof(options.VaryByHeaders), options.VaryByHeaders, static v => v);
#pragma warning restore CS0618
        ReplaceList(section, nameof(options.MemoizeTags), options.MemoizeTags, static v => v);

        var addresses = nameof(options.FallbackBaseAddresses);
        ReplaceList(section, addresses, options.FallbackBaseAddresses, value =>
            Uri.TryCreate(value, UriKind.Absolute, out var uri) ? uri : throw Invalid(section, addresses, value, typeof(Uri), Name(addresses)));

        if (ReadSubsection(section, nameof(options.Retry)) is { } retrySection)
        {
            options.Retry = retrySection.Value is not null ? null : BindRetry(retrySection, options.Retry ?? new HttpRetryStrategyOptions());
        }

        if (ReadSubsection(section, nameof(options.RateLimit)) is { } rateSection)
        {
            options.RateLimit = rateSection.Value is not null ? null : BindRateLimit(rateSection, options.RateLimit ?? new HttpRateLimitOptions());
        }
    }

    private static string Name(string property) => $"{Options}.{property}";

    /// <summary>
    /// The sub-section under <paramref name="key"/>, or <see langword="null"/> when absent. A section with a value of
    /// its own (<c>""</c> or <c>null</c>) means "none", and any other value is an error.
    /// </summary>
    private static IConfigurationSection? ReadSubsection(IConfiguration section, string key)
    {
        var child = section.GetSection(key);
        if (child.GetChildren().Any())
        {
            return child;
        }

        return child.Value switch
        {
            null => null,
            "" => child,
            var text when text.Equals("null", StringComparison.OrdinalIgnoreCase) => child,
            var text => throw new InvalidOperationException(
                $"Configuration value '{PathOf(section, key)}' = '{text}' is not valid for {Name(key)}: give its settings as a section, or an empty value for none."),
        };
    }

    private static HttpRetryStrategyOptions BindRetry(IConfiguration section, HttpRetryStrategyOptions retry)
    {
        const string Retry = $"{Options}.{nameof(HttpCoalescingOptions.Retry)}";
        retry.MaxRetryAttempts = ReadInt(section, nameof(retry.MaxRetryAttempts), retry.MaxRetryAttempts, $"{Retry}.{nameof(retry.MaxRetryAttempts)}");
        retry.Delay = ReadTimeSpan(section, nameof(retry.Delay), retry.Delay, $"{Retry}.{nameof(retry.Delay)}");
        retry.MaxDelay = ReadOptionalTimeSpan(section, nameof(retry.MaxDelay), retry.MaxDelay, $"{Retry}.{nameof(retry.MaxDelay)}");
        retry.BackoffType = ReadEnum(section, nameof(retry.BackoffType), retry.BackoffType, $"{Retry}.{nameof(retry.BackoffType)}");
        retry.UseJitter = ReadBool(section, nameof(retry.UseJitter), retry.UseJitter, $"{Retry}.{nameof(retry.UseJitter)}");
        retry.ShouldRetryAfterHeader = ReadBool(section, nameof(retry.ShouldRetryAfterHeader), retry.ShouldRetryAfterHeader, $"{Retry}.{nameof(retry.ShouldRetryAfterHeader)}");
        return retry;
    }

    private static HttpRateLimitOptions BindRateLimit(IConfiguration section, HttpRateLimitOptions rateLimit)
    {
        const string RateLimit = $"{Options}.{nameof(HttpCoalescingOptions.RateLimit)}";
        rateLimit.PermitsPerSecond = ReadDouble(section, nameof(rateLimit.PermitsPerSecond), rateLimit.PermitsPerSecond, $"{RateLimit}.{nameof(rateLimit.PermitsPerSecond)}");
        rateLimit.QueueLimit = ReadInt(section, nameof(rateLimit.QueueLimit), rateLimit.QueueLimit, $"{RateLimit}.{nameof(rateLimit.QueueLimit)}");
        return rateLimit;
    }
}
