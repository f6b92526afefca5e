using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Sample;

/// <summary>The sample reads every request-coalescing option from its <c>Coalesce</c> section.</summary>
public sealed class SampleConfigurationTests
{
    [Fact]
    public async Task The_samples_coalescing_options_come_from_configuration()
    {
        await using var defaults = new SampleApp();
        await using var configured = new SampleApp(settings: new Dictionary<string, string>
        {
            ["Coalesce:EmitCacheStatus"] = "false",
            ["Coalesce:WaitTimeout"] = "00:00:07",
            ["Coalesce:MemoMaxEntries"] = "1234",
        });

        var withStatus = await defaults.Client.GetAsync("/products/1");
        var without = await configured.Client.GetAsync("/products/1");

        Assert.True(withStatus.Headers.Contains("Cache-Status"));
        Assert.False(without.Headers.Contains("Cache-Status"));
        var options = configured.Services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(7), options.WaitTimeout);
        Assert.Equal(1234, options.MemoMaxEntries);
    }
}
