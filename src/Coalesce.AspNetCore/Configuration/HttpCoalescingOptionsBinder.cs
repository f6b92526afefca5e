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

    public static void Bind(IConfiguration configuration, HttpCoalescingOptions options)
    {
        var section = new OptionsSection(configuration, Options);
        options.Coalesce = section.Bool(nameof(options.Coalesce), options.Coalesce);
        options.MaxResponseBodyBytes = section.Long(nameof(options.MaxResponseBodyBytes), options.MaxResponseBodyBytes);
        options.RetryUnsafeMethods = section.Bool(nameof(options.RetryUnsafeMethods), options.RetryUnsafeMethods);
        options.AttemptTimeout = section.OptionalTime(nameof(options.AttemptTimeout), options.AttemptTimeout);
        options.TotalTimeout = section.OptionalTime(nameof(options.TotalTimeout), options.TotalTimeout);
        options.MemoizeTtl = section.OptionalTime(nameof(options.MemoizeTtl), options.MemoizeTtl);
        options.MemoizeStaleWhileRevalidate = section.OptionalTime(nameof(options.MemoizeStaleWhileRevalidate), options.MemoizeStaleWhileRevalidate);
        options.MemoizeStaleIfError = section.OptionalTime(nameof(options.MemoizeStaleIfError), options.MemoizeStaleIfError);
        options.MemoizeSoftTimeout = section.OptionalTime(nameof(options.MemoizeSoftTimeout), options.MemoizeSoftTimeout);
        section.List(nameof(options.IgnoreHeaders), options.IgnoreHeaders);
        section.List(nameof(options.IgnoreRequestOptions), options.IgnoreRequestOptions);
#pragma warning disable CS0618 // Still bound, so configuration written for it keeps loading; it has no effect.
        section.List(nameof(options.VaryByHeaders), options.VaryByHeaders);
#pragma warning restore CS0618
        section.List(nameof(options.MemoizeTags), options.MemoizeTags);

        var addresses = nameof(options.FallbackBaseAddresses);
        section.List(addresses, options.FallbackBaseAddresses, value =>
            Uri.TryCreate(value, UriKind.Absolute, out var uri) ? uri : throw Invalid(configuration, addresses, value, typeof(Uri), section.Name(addresses)));

        if (ReadSubsection(section, nameof(options.Retry)) is { } retrySection)
        {
            options.Retry = retrySection.Value is not null ? null : BindRetry(retrySection, options.Retry ?? new HttpRetryStrategyOptions());
        }

        if (ReadSubsection(section, nameof(options.RateLimit)) is { } rateSection)
        {
            options.RateLimit = rateSection.Value is not null ? null : BindRateLimit(rateSection, options.RateLimit ?? new HttpRateLimitOptions());
        }

        section.RejectUnknownKeys();
    }

    /// <summary>
    /// The sub-section under <paramref name="key"/>, or <see langword="null"/> when absent. A section with a value of
    /// its own (<c>""</c> or <c>null</c>) means "none", and any other value is an error.
    /// </summary>
    private static IConfigurationSection? ReadSubsection(OptionsSection section, string key)
    {
        var child = section.Child(key);
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
                $"Configuration value '{child.Path}' = '{text}' is not valid for {section.Name(key)}: give its settings as a section, or an empty value for none."),
        };
    }

    private static HttpRetryStrategyOptions BindRetry(IConfiguration configuration, HttpRetryStrategyOptions retry)
    {
        var section = new OptionsSection(configuration, $"{Options}.{nameof(HttpCoalescingOptions.Retry)}");
        retry.MaxRetryAttempts = section.Int(nameof(retry.MaxRetryAttempts), retry.MaxRetryAttempts);
        retry.Delay = section.Time(nameof(retry.Delay), retry.Delay);
        retry.MaxDelay = section.OptionalTime(nameof(retry.MaxDelay), retry.MaxDelay);
        retry.BackoffType = section.Enum(nameof(retry.BackoffType), retry.BackoffType);
        retry.UseJitter = section.Bool(nameof(retry.UseJitter), retry.UseJitter);
        retry.ShouldRetryAfterHeader = section.Bool(nameof(retry.ShouldRetryAfterHeader), retry.ShouldRetryAfterHeader);
        section.RejectUnknownKeys();
        return retry;
    }

    private static HttpRateLimitOptions BindRateLimit(IConfiguration configuration, HttpRateLimitOptions rateLimit)
    {
        var section = new OptionsSection(configuration, $"{Options}.{nameof(HttpCoalescingOptions.RateLimit)}");
        rateLimit.PermitsPerSecond = section.Double(nameof(rateLimit.PermitsPerSecond), rateLimit.PermitsPerSecond);
        rateLimit.QueueLimit = section.Int(nameof(rateLimit.QueueLimit), rateLimit.QueueLimit);
        section.RejectUnknownKeys();
        return rateLimit;
    }
}
