using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>Configuration that tells: a misconfigured app never listens; an app Coalesce cannot see into says so.</summary>
public sealed class StartupChecksTests
{
    [Fact]
    public async Task A_misconfigured_endpoint_stops_the_app_before_kestrel_listens()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders().AddFakeLogging().SetMinimumLevel(LogLevel.Information);
        builder.Services.AddRequestCoalescing();
        await using var app = builder.Build();
        app.UseRequestCoalescing();
        app.MapGet("/things/{id}", (string id) => id).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("thing:{nope}"));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("'thing:{nope}'", ex.Message, StringComparison.Ordinal);
        var logs = app.Services.GetFakeLogCollector().GetSnapshot();
        Assert.DoesNotContain(logs, r => r.Message.StartsWith("Now listening on", StringComparison.Ordinal));
        // Still the address asked for: Kestrel never bound a port.
        Assert.Equal(["http://127.0.0.1:0"], app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses);
    }

    [Fact]
    public async Task An_app_on_legacy_mvc_routing_is_warned_once_that_nothing_is_coalesced()
    {
        await using var app = await TestApp.StartAsync(
            a => a.UseMvc(),
            services: s =>
            {
                s.AddMvc(o => o.EnableEndpointRouting = false).AddApplicationPart(typeof(LegacyRoutingController).Assembly);
                s.AddFakeLogging();
            },
            kestrel: true);

        var first = await app.Client.GetStringAsync("/legacy");
        var second = await app.Client.GetStringAsync("/legacy");
        await app.Client.GetAsync("/nothing-here");

        Assert.NotEqual(first, second);
        var warning = Assert.Single(app.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id == 2022);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("EnableEndpointRouting", warning.Message, StringComparison.Ordinal);
        Assert.Empty(app.Stats.GetSnapshot().Endpoints);
    }

    [Fact]
    public async Task Requests_that_match_nothing_raise_no_routing_warning()
    {
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/there", () => "there"),
            services: s => s.AddFakeLogging(),
            kestrel: true);

        await app.Client.GetAsync("/not-there");
        await app.Client.GetAsync("/not-there-either");

        Assert.DoesNotContain(app.Services.GetFakeLogCollector().GetSnapshot(), r => r.Id.Id is 2004 or 2022);
    }
}
