using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Coalesce.AspNetCore.Tests.Configuration;

public sealed class ConfigurationBindingTests
{
    private static IConfigurationSection Section(Dictionary<string, string?> values, string path = "Coalesce") =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(path);

    [Fact]
    public void Request_coalescing_options_bind_from_a_section_and_a_configured_list_replaces_the_default()
    {
        var section = Section(new()
        {
            ["Coalesce:CoalesceAllGetRequests"] = "false",
            ["Coalesce:MaxBufferedBodyBytes"] = "2048",
            ["Coalesce:WaitTimeout"] = "00:00:05",
            ["Coalesce:PassThroughDuration"] = "00:00:00.500",
            ["Coalesce:VaryByIdentity"] = "false",
            ["Coalesce:EmitCacheStatus"] = "true",
            ["Coalesce:MemoMaxEntries"] = "500",
            ["Coalesce:MemoMaxBytes"] = "1048576",
            ["Coalesce:MemoMaxEntryBytes"] = "65536",
            ["Coalesce:VaryByHeaders:0"] = "Accept",
            ["Coalesce:IdentityHeaders:0"] = "Authorization",
            ["Coalesce:IdentityHeaders:1"] = "X-Tenant-Key",
        });

        using var services = new ServiceCollection().AddRequestCoalescing(section).BuildServiceProvider();
        var options = services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;

        Assert.False(options.CoalesceAllGetRequests);
        Assert.Equal(2048, options.MaxBufferedBodyBytes);
        Assert.Equal(TimeSpan.FromSeconds(5), options.WaitTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.PassThroughDuration);
        Assert.False(options.VaryByIdentity);
        Assert.True(options.EmitCacheStatus);
        Assert.Equal(500, options.MemoMaxEntries);
        Assert.Equal(1048576, options.MemoMaxBytes);
        Assert.Equal(65536, options.MemoMaxEntryBytes);
        Assert.Equal(["Accept"], options.VaryByHeaders);                              // narrowed, not appended to
        Assert.Equal(["Authorization", "X-Tenant-Key"], options.IdentityHeaders.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Absent_keys_keep_the_defaults_an_empty_list_clears_and_code_configures_after_binding()
    {
        var section = Section(new() { ["Coalesce:VaryByHeaders"] = "", ["Coalesce:WaitTimeout"] = "Infinite" });

        using var services = new ServiceCollection()
            .AddRequestCoalescing(section, o => o.IdentityHeaders.Add("X-Session"))
            .BuildServiceProvider();
        var options = services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;

        Assert.Empty(options.VaryByHeaders);
        Assert.Equal(Timeout.InfiniteTimeSpan, options.WaitTimeout);
        Assert.True(options.CoalesceAllGetRequests);
        Assert.Equal(1024 * 1024, options.MaxBufferedBodyBytes);
        Assert.Equal(["Authorization", "Cookie", "X-Api-Key", "X-Session"], options.IdentityHeaders.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("MaxBufferedBodyBytes", "-1")]
    [InlineData("MemoMaxEntries", "0")]
    [InlineData("WaitTimeout", "00:00:00")]
    public async Task Bound_values_out_of_range_fail_start_up_naming_the_option(string key, string value)
    {
        var section = Section(new() { [$"Coalesce:{key}"] = value });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), services: s => s.AddRequestCoalescing(section)));

        var failure = Assert.Single(ex.Failures);
        Assert.StartsWith(key, failure, StringComparison.Ordinal);
        Assert.Contains("must be", failure, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bound_empty_header_name_fails_start_up_naming_the_option()
    {
        var section = Section(new() { ["Coalesce:VaryByHeaders:0"] = "Accept", ["Coalesce:VaryByHeaders:1"] = " " });

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), services: s => s.AddRequestCoalescing(section)));

        Assert.Contains("VaryByHeaders", Assert.Single(ex.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_that_does_not_parse_fails_start_up_naming_its_configuration_path()
    {
        var section = Section(new() { ["Coalesce:MemoMaxBytes"] = "lots" });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), services: s => s.AddRequestCoalescing(section)));

        Assert.Equal("Configuration value 'Coalesce:MemoMaxBytes' = 'lots' is not a valid Int64 for RequestCoalescingOptions.MemoMaxBytes.", ex.Message);
    }

    [Fact]
    public async Task A_misspelt_key_under_the_section_fails_start_up_naming_its_path_and_the_nearest_setting()
    {
        var section = Section(new() { ["Coalesce:MemoMaxByte"] = "1048576" });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            TestApp.StartAsync(a => a.MapGet("/", () => "never"), services: s => s.AddRequestCoalescing(section)));

        Assert.StartsWith(
            "Configuration key 'Coalesce:MemoMaxByte' is not a setting of RequestCoalescingOptions. Did you mean 'MemoMaxBytes'? Its settings are ",
            ex.Message,
            StringComparison.Ordinal);
        Assert.Contains("beside them the section may hold Redis, RedisOptions, HttpClients, Dashboard", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sections_other_registrations_read_beside_the_options_are_not_unknown_keys()
    {
        var section = Section(new()
        {
            ["Coalesce:Redis:Configuration"] = "127.0.0.1:6379",
            ["Coalesce:HttpClients:weather:MemoizeTtl"] = "00:00:30",
            ["Coalesce:Dashboard:AllowInvalidation"] = "true",
            ["Coalesce:Policies:catalog:MemoizeSeconds"] = "60",
            ["Coalesce:memomaxentries"] = "20",                                            // keys compare as configuration does
        });

        using var services = new ServiceCollection().AddRequestCoalescing(section).BuildServiceProvider();

        Assert.Equal(20, services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value.MemoMaxEntries);
    }

    [Theory]
    [InlineData("Coalesce:MemoizeTTL2", "'Coalesce:MemoizeTTL2' is not a setting of HttpCoalescingOptions. Did you mean 'MemoizeTtl'?")]
    [InlineData("Coalesce:Retry:MaxRetries", "'Coalesce:Retry:MaxRetries' is not a setting of HttpCoalescingOptions.Retry.")]
    [InlineData("Coalesce:RateLimit:Permits", "'Coalesce:RateLimit:Permits' is not a setting of HttpCoalescingOptions.RateLimit.")]
    public void An_unknown_HttpClient_key_fails_naming_its_path(string key, string message)
    {
        var section = Section(new() { [key] = "3" });
        var services = new ServiceCollection();
        services.AddHttpClient("weather").AddCoalescing(section);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>().Get("weather"));

        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HttpClient_options_bind_per_client_with_retry_rate_limit_and_narrowed_lists()
    {
        var section = Section(new()
        {
            ["Coalesce:HttpClients:weather:Coalesce"] = "true",
            ["Coalesce:HttpClients:weather:IgnoreHeaders:0"] = "X-Request-Id",
            ["Coalesce:HttpClients:weather:MaxResponseBodyBytes"] = "1024",
            ["Coalesce:HttpClients:weather:RetryUnsafeMethods"] = "true",
            ["Coalesce:HttpClients:weather:AttemptTimeout"] = "00:00:02",
            ["Coalesce:HttpClients:weather:TotalTimeout"] = "",
            ["Coalesce:HttpClients:weather:MemoizeTtl"] = "00:00:30",
            ["Coalesce:Dashboard:AllowInvalidation"] = "true",
            ["Coalesce:HttpClients:weather:MemoizeTags:0"] = "weather",
            ["Coalesce:HttpClients:weather:FallbackBaseAddresses:0"] = "https://weather-eu.example",
            ["Coalesce:HttpClients:weather:FallbackBaseAddresses:1"] = "https://weather-us.example:8443",
            ["Coalesce:HttpClients:weather:Retry:MaxRetryAttempts"] = "5",
            ["Coalesce:HttpClients:weather:Retry:Delay"] = "00:00:00.250",
            ["Coalesce:HttpClients:weather:Retry:BackoffType"] = "Linear",
            ["Coalesce:HttpClients:weather:Retry:UseJitter"] = "false",
            ["Coalesce:HttpClients:weather:RateLimit:PermitsPerSecond"] = "2.5",
            ["Coalesce:HttpClients:weather:RateLimit:QueueLimit"] = "7",
            ["Coalesce:HttpClients:other:Retry"] = "",
        }, "Coalesce:HttpClients");

        var services = new ServiceCollection();
        services.AddHttpClient("weather").AddCoalescing(section.GetSection("weather"));
        services.AddHttpClient("other").AddCoalescing(section.GetSection("other"), o => o.AttemptTimeout = null);
        using var provider = services.BuildServiceProvider();
        var monitor = provider.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>();
        var weather = monitor.Get("weather");
        var other = monitor.Get("other");

        Assert.True(weather.Coalesce);
        Assert.Equal(["X-Request-Id"], weather.IgnoreHeaders);
        Assert.Equal(1024, weather.MaxResponseBodyBytes);
        Assert.True(weather.RetryUnsafeMethods);
        Assert.Equal(TimeSpan.FromSeconds(2), weather.AttemptTimeout);
        Assert.Null(weather.TotalTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), weather.MemoizeTtl);
        Assert.Equal(["weather"], weather.MemoizeTags);
        Assert.Equal([new Uri("https://weather-eu.example"), new Uri("https://weather-us.example:8443")], weather.FallbackBaseAddresses);
        Assert.Equal(5, weather.Retry!.MaxRetryAttempts);
        Assert.Equal(TimeSpan.FromMilliseconds(250), weather.Retry.Delay);
        Assert.Equal(DelayBackoffType.Linear, weather.Retry.BackoffType);
        Assert.False(weather.Retry.UseJitter);
        Assert.NotNull(weather.Retry.ShouldHandle);                                   // delegates stay as code set them
        Assert.Equal(2.5, weather.RateLimit!.PermitsPerSecond);
        Assert.Equal(7, weather.RateLimit.QueueLimit);

        Assert.Null(other.Retry);                                                     // an empty value switches it off
        Assert.Null(other.AttemptTimeout);                                            // code runs after binding
        Assert.Equal(TimeSpan.FromSeconds(30), other.TotalTimeout);
        Assert.Equal(5, other.IgnoreHeaders.Count);
    }

    [Fact]
    public async Task The_stale_windows_bind_from_configuration()
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["MemoizeTtl"] = "00:00:30",
            ["MemoizeStaleWhileRevalidate"] = "00:05:00",
            ["MemoizeStaleIfError"] = "01:00:00",
            ["MemoizeSoftTimeout"] = "00:00:00.500",
        }).Build();
        var services = new ServiceCollection();
        services.AddHttpClient("weather").AddCoalescing(section);
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>().Get("weather");

        Assert.Equal(
            (TimeSpan.FromMinutes(5), TimeSpan.FromHours(1), TimeSpan.FromMilliseconds(500)),
            (options.MemoizeStaleWhileRevalidate, options.MemoizeStaleIfError, options.MemoizeSoftTimeout));
    }

    [Fact]
    public async Task Bound_HttpClient_values_out_of_range_fail_start_up_naming_the_client_and_the_option()
    {
        var section = Section(new() { ["Coalesce:Retry:MaxRetryAttempts"] = "0", ["Coalesce:FallbackBaseAddresses:0"] = "https://replica.example/api" });
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddHttpClient("weather").AddCoalescing(section);
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(ex.Failures, f => f.StartsWith("HttpClient 'weather': Retry.MaxRetryAttempts is 0", StringComparison.Ordinal));
        Assert.DoesNotContain(ex.Failures, f => f.Contains("RateLimit", StringComparison.Ordinal));        // none configured: nothing to check
        Assert.Contains(ex.Failures, f => f.StartsWith("HttpClient 'weather': FallbackBaseAddresses[0]", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fallback_address_that_is_not_a_uri_names_its_configuration_path()
    {
        var section = Section(new() { ["Coalesce:FallbackBaseAddresses:0"] = "not a uri" });
        var services = new ServiceCollection();
        services.AddHttpClient("weather").AddCoalescing(section);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>().Get("weather"));

        Assert.Equal("Configuration value 'Coalesce:FallbackBaseAddresses' = 'not a uri' is not a valid Uri for HttpCoalescingOptions.FallbackBaseAddresses.", ex.Message);
    }
}
