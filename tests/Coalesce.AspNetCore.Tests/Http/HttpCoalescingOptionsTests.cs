using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Http;

/// <summary>The HttpClient handler's options out of range or incomplete: start-up fails naming the client and the option.</summary>
public sealed class HttpCoalescingOptionsTests
{
    [Fact]
    public async Task Invalid_options_stop_the_app_at_start_up_with_messages_that_name_the_option()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddHttpClient("bad").AddCoalescing(o =>
        {
            o.Retry!.MaxRetryAttempts = 0;
            o.Retry.Delay = TimeSpan.FromSeconds(-1);
            o.TotalTimeout = TimeSpan.Zero;
            o.FallbackBaseAddresses.Add(new Uri("http://replica.test/api"));
            o.RateLimit = new HttpRateLimitOptions { PermitsPerSecond = 0 };
        });
        using var host = builder.Build();

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(failure.Failures, f => f.Contains("HttpClient 'bad': Retry.MaxRetryAttempts is 0; it must be between 1 and 100 (set Retry to null for no retries).", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("Retry.Delay is -00:00:01", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("The field bad.TotalTimeout must be between 00:00:00 exclusive and 1.00:00:00.", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("FallbackBaseAddresses[0] is 'http://replica.test/api'", StringComparison.Ordinal));
        Assert.Contains(failure.Failures, f => f.Contains("The field bad.RateLimit.PermitsPerSecond must be between 0 exclusive and 1000000.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("00:00:30", "-00:00:01", null, null, "MemoizeStaleWhileRevalidate: The field weather.MemoizeStaleWhileRevalidate must be between 00:00:00 and 7.00:00:00.")]
    [InlineData("00:00:30", null, "8.00:00:00", null, "MemoizeStaleIfError: The field weather.MemoizeStaleIfError must be between 00:00:00 and 7.00:00:00.")]
    [InlineData(null, "00:05:00", null, null, "MemoizeStaleWhileRevalidate is set without MemoizeTtl;")]
    [InlineData("00:00:30", null, null, "00:00:01", "MemoizeSoftTimeout is set without MemoizeStaleIfError;")]
    [InlineData("00:00:30", null, "01:00:00", "00:00:00", "MemoizeSoftTimeout: The field weather.MemoizeSoftTimeout must be between 00:00:00 exclusive and 1.00:00:00.")]
    public void Out_of_range_or_incomplete_windows_fail_naming_the_client_and_the_option(
        string? ttl, string? revalidate, string? onError, string? softTimeout, string message)
    {
        var services = new ServiceCollection();
        services.AddHttpClient("weather").AddCoalescing(o =>
        {
            o.MemoizeTtl = ttl is null ? null : TimeSpan.Parse(ttl, System.Globalization.CultureInfo.InvariantCulture);
            o.MemoizeStaleWhileRevalidate = revalidate is null ? null : TimeSpan.Parse(revalidate, System.Globalization.CultureInfo.InvariantCulture);
            o.MemoizeStaleIfError = onError is null ? null : TimeSpan.Parse(onError, System.Globalization.CultureInfo.InvariantCulture);
            o.MemoizeSoftTimeout = softTimeout is null ? null : TimeSpan.Parse(softTimeout, System.Globalization.CultureInfo.InvariantCulture);
        });
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>().Get("weather"));

        Assert.Contains(ex.Failures, f => f.StartsWith("HttpClient 'weather': " + message, StringComparison.Ordinal) || f == message);
    }
}
