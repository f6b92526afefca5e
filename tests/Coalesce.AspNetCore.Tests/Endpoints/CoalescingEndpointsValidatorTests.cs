using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging.Testing;

namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>
/// Tags that name route values an endpoint lacks: found at start-up for every endpoint at once, and harmless to the
/// others when an endpoint escaped the check.
/// </summary>
public sealed class CoalescingEndpointsValidatorTests
{
    [Fact]
    public async Task Tags_naming_route_values_the_routes_lack_fail_start_up_naming_every_endpoint_and_tag()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(a =>
        {
            a.MapGet("/things/{id}", (string id) => id).WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("thing:{nope}"));
            a.MapPost("/products", () => "created").InvalidatesTags("product:{productId}");
            a.MapGet("/fine/{id}", (string id) => id).WithCoalescing(p => p.Tag("fine:{id}"));
        }, kestrel: true));

        Assert.Contains("2 endpoint(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'thing:{nope}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'nope'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("/things/{id}", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'product:{productId}'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("fine:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misconfigured_endpoint_never_breaks_the_others_and_is_itself_left_uncoalesced()
    {
        var runs = 0;
        await using var app = await TestApp.StartAsync(
            a =>
            {
                a.MapGet("/things/{id}", (string id) => $"thing {id} run {Interlocked.Increment(ref runs)}")
                    .WithCoalescing(p => p.Memoize(TimeSpan.FromMinutes(1)).Tag("thing:{nope}"));
                a.MapGet("/other", () => "other");
            },
            services: s =>
            {
                // As if the endpoint appeared after start-up, when nothing checked it.
                s.Remove(s.Single(d => d.ImplementationType == typeof(CoalescingEndpointsValidator)));
                s.AddFakeLogging();
            });

        Assert.Equal("other", await app.Client.GetStringAsync("/other"));
        Assert.Equal("thing 1 run 1", await app.Client.GetStringAsync("/things/1"));
        Assert.Equal("thing 1 run 2", await app.Client.GetStringAsync("/things/1"));

        var logged = app.Services.GetFakeLogCollector().GetSnapshot().Where(r => r.Id.Id == 2007).ToList();
        Assert.Contains("'nope'", Assert.Single(logged).Message, StringComparison.Ordinal);
    }
}
