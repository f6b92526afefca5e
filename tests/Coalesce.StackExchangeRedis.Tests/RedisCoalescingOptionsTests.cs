using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Coalesce.StackExchangeRedis.Tests;

public sealed class RedisCoalescingOptionsTests
{
    [Theory]
    [InlineData("KeyPrefix", "KeyPrefix is empty")]
    [InlineData("Configuration", "Configuration \"127.0.0.1:6379,connectTimeout=soon\" is not a valid StackExchange.Redis configuration string")]
    [InlineData("None", "Set exactly one of Configuration, ConfigurationOptions and ConnectionMultiplexerFactory; 0 are set")]
    [InlineData("Liveness", "NodeLiveness is 00:00:01; it must be longer than HeartbeatInterval (00:00:01)")]
    [InlineData("ReadBudget", "The field RedisCoalescingOptions.ReadBudget must be between 00:00:00 exclusive and 00:00:30.")]
    [InlineData("MaxEntryBytes", "The field RedisCoalescingOptions.MaxEntryBytes must be between 1 and 536870912.")]
    [InlineData("Braces", "KeyPrefix \"a{b}\" must be at most 100 characters, without braces")]
    [InlineData("LeaseDuration", "The field RedisCoalescingOptions.LeaseDuration must be between 00:00:00.1000000 and 00:10:00.")]
    [InlineData("LeaseBudget", "LeaseDuration is 00:00:00.5000000; it must be at least twice ReadBudget (00:00:00.4000000)")]
    public async Task Bad_options_stop_the_start_with_a_message_naming_the_option(string bad, string expected)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddStackExchangeRedisCoalescing(o =>
        {
            o.Configuration = "127.0.0.1:6379";
            switch (bad)
            {
                case "KeyPrefix": o.KeyPrefix = ""; break;
                case "Configuration": o.Configuration = "127.0.0.1:6379,connectTimeout=soon"; break;
                case "None": o.Configuration = null; break;
                case "Liveness": (o.HeartbeatInterval, o.NodeLiveness) = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)); break;
                case "ReadBudget": o.ReadBudget = TimeSpan.Zero; break;
                case "MaxEntryBytes": o.MaxEntryBytes = 0; break;
                case "Braces": o.KeyPrefix = "a{b}"; break;
                case "LeaseDuration": o.LeaseDuration = TimeSpan.FromMilliseconds(50); break;
                case "LeaseBudget": (o.LeaseDuration, o.ReadBudget) = (TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(400)); break;
            }
        });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_bind_from_a_configuration_section()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Coalesce:Redis:Configuration"] = "redis.internal:6380",
            ["Coalesce:Redis:KeyPrefix"] = "shop",
            ["Coalesce:Redis:ReadYourWrites"] = "false",
            ["Coalesce:Redis:AckTimeout"] = "00:00:01.500",
            ["Coalesce:Redis:MaxEntryBytes"] = "2048",
            ["Coalesce:Redis:CoalesceAcrossInstances"] = "false",
            ["Coalesce:Redis:LeaseDuration"] = "00:00:05",
        }).Build();
        var services = new ServiceCollection().AddStackExchangeRedisCoalescing(configuration.GetSection("Coalesce:Redis"));
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RedisCoalescingOptions>>().Value;

        Assert.Equal("redis.internal:6380", options.Configuration);
        Assert.Equal("shop", options.KeyPrefix);
        Assert.False(options.ReadYourWrites);
        Assert.False(options.CoalesceAcrossInstances);
        Assert.Equal(TimeSpan.FromSeconds(5), options.LeaseDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.AckTimeout);
        Assert.Equal(2048, options.MaxEntryBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.ReadBudget);
    }

    [Fact]
    public void A_configuration_value_that_does_not_parse_is_reported_with_its_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = "localhost",
            ["Redis:AckTimeout"] = "soon",
        }).Build();
        using var provider = new ServiceCollection().AddStackExchangeRedisCoalescing(configuration.GetSection("Redis")).BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<RedisCoalescingOptions>>().Value);

        Assert.Contains("'Redis:AckTimeout' = 'soon'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelt_key_is_reported_with_its_path_and_the_nearest_setting()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Redis:Configuration"] = "localhost",
            ["Redis:LeaseDurration"] = "00:00:05",
        }).Build();
        using var provider = new ServiceCollection().AddStackExchangeRedisCoalescing(configuration.GetSection("Redis")).BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IOptions<RedisCoalescingOptions>>().Value);

        Assert.StartsWith("Configuration key 'Redis:LeaseDurration' is not a setting of RedisCoalescingOptions. Did you mean 'LeaseDuration'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_match_the_documented_budgets()
    {
        var options = new RedisCoalescingOptions();

        Assert.Equal("coalesce", options.KeyPrefix);
        Assert.True(options.CoalesceAcrossInstances);
        Assert.True(options.ReadYourWrites);
        Assert.Equal(TimeSpan.FromMilliseconds(50), options.ReadBudget);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.InvalidationBudget);
        Assert.Equal(1024 * 1024, options.MaxEntryBytes);
        Assert.Equal(TimeSpan.FromSeconds(10), options.LeaseDuration);
        Assert.True(new RedisCoalescingOptionsValidator().Validate(null, new RedisCoalescingOptions { Configuration = "localhost" }).Succeeded);
    }
}
