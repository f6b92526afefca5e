using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Configuration;

public sealed class ReadmeConfigurationTests
{
    /// <summary>The configuration example lives in docs/configuration.md (the README links it).</summary>
    [Fact]
    public void The_configuration_pages_example_binds_as_it_says()
    {
        var page = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "docs", "configuration.md"));
        var section = page[page.IndexOf("## From configuration", StringComparison.Ordinal)..];
        var json = Regex.Match(section, "```json\\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

        var services = new ServiceCollection().AddRequestCoalescing(configuration.GetSection("Coalesce"));
        services.AddHttpClient("weather").AddCoalescing(configuration.GetSection("Coalesce:HttpClients:weather"));
        using var provider = services.BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;
        var weather = provider.GetRequiredService<IOptionsMonitor<HttpCoalescingOptions>>().Get("weather");

        Assert.False(options.CoalesceAllGetRequests);
        Assert.Equal(TimeSpan.FromSeconds(10), options.WaitTimeout);
        Assert.Equal(["Accept", "Accept-Encoding"], options.VaryByHeaders);
        Assert.Equal(["Authorization"], options.IdentityHeaders);
        Assert.Equal(TimeSpan.FromSeconds(30), options.FindPolicy("products")?.MemoizeTtl);
        Assert.Equal(["products", "product:{id}"], options.FindPolicy("products")!.Tags.Select(t => t.Text));
        Assert.Equal(TimeSpan.FromSeconds(20), weather.TotalTimeout);
        Assert.Equal(2, weather.Retry!.MaxRetryAttempts);
        Assert.Equal(20, weather.RateLimit!.PermitsPerSecond);
        Assert.Equal([new Uri("https://weather-eu.example")], weather.FallbackBaseAddresses);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("\"\"")]
    public void An_empty_json_list_clears_a_default_list(string empty)
    {
        var json = $$"""{ "Coalesce": { "VaryByHeaders": {{empty}} } }""";
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();

        using var provider = new ServiceCollection().AddRequestCoalescing(configuration.GetSection("Coalesce")).BuildServiceProvider();

        Assert.Empty(provider.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value.VaryByHeaders);
    }
}
