using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore.Tests;

/// <summary><c>UseRequestCoalescing</c>: where it must stand in the pipeline, and what it says when it cannot work.</summary>
public sealed class RequestCoalescingApplicationBuilderExtensionsTests
{
    [Fact]
    public async Task It_works_after_an_explicit_UseRouting_too()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/routed", async () => { await gate.EnterAndWaitAsync(); return "routed"; }),
            beforeCoalescing: a => a.UseRouting());

        var requests = Enumerable.Range(0, 5).Select(_ => app.Client.GetStringAsync("/routed")).ToArray();
        await app.WaitForFollowersAsync(4);
        gate.Open();

        Assert.All(await Task.WhenAll(requests), body => Assert.Equal("routed", body));
        Assert.Equal(1, gate.Executions);
    }

    [Fact]
    public async Task Placed_before_routing_it_coalesces_nothing_rather_than_guess_at_policies()
    {
        var gate = new Gate();
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.UseRouting();
                a.MapGet("/late", async () => { await gate.EnterAndWaitAsync(); return "late"; }).DisableCoalescing();
            });

        // UseRequestCoalescing ran before this UseRouting, so it saw no endpoint (and so no opt-out): nothing is shared.
        var requests = Enumerable.Range(0, 3).Select(_ => app.Client.GetStringAsync("/late")).ToArray();
        await gate.WaitForExecutionsAsync(3);
        gate.Open();
        await Task.WhenAll(requests);

        Assert.Equal(3, gate.Executions);
        Assert.Equal(0, app.Stats.GetSnapshot().Requests.Misses);
    }

    [Fact]
    public void A_plain_application_builder_without_routing_is_told_to_call_UseRouting()
    {
        var services = new ServiceCollection()
            .AddLogging()
            .AddRequestCoalescing()
            .BuildServiceProvider();
        var builder = new ApplicationBuilder(services);

        var error = Assert.Throws<InvalidOperationException>(() => builder.UseRequestCoalescing());

        Assert.Contains("UseRouting", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UseRequestCoalescing_without_AddRequestCoalescing_says_what_to_call()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        await using var app = builder.Build();

        var ex = Assert.Throws<InvalidOperationException>(() => app.UseRequestCoalescing());
        Assert.Contains("AddRequestCoalescing", ex.Message, StringComparison.Ordinal);
    }
}
