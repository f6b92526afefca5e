using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore.Tests.Configuration;

/// <summary>Idempotency policies from code, configuration and attributes: bound, and refused at start-up when wrong.</summary>
public sealed class IdempotencyConfigurationTests
{
    private static IConfigurationSection Section(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection("Coalesce");

    [Fact]
    public void Named_idempotency_policies_and_the_body_threshold_bind_from_a_section()
    {
        var section = Section(new()
        {
            ["Coalesce:IdempotencyBodyMemoryThreshold"] = "4096",
            ["Coalesce:IdempotencyPolicies:orders:RequireKey"] = "true",
            ["Coalesce:IdempotencyPolicies:orders:KeepFor"] = "01:30:00",
            ["Coalesce:IdempotencyPolicies:orders:WaitForDuplicates"] = "true",
            ["Coalesce:IdempotencyPolicies:orders:HeaderName"] = "X-Request-Key",
            ["Coalesce:IdempotencyPolicies:orders:KeepOutcomes"] = "Success, ServerError",
            ["Coalesce:IdempotencyPolicies:plain:KeepForSeconds"] = "60",
        });

        using var services = new ServiceCollection().AddRequestCoalescing(section).BuildServiceProvider();
        var options = services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;

        Assert.Equal(4096, options.IdempotencyBodyMemoryThreshold);
        var orders = options.FindIdempotencyPolicy("ORDERS")!;
        Assert.True(orders.RequireKey);
        Assert.True(orders.WaitForDuplicates);
        Assert.Equal(TimeSpan.FromMinutes(90), orders.KeepFor);
        Assert.Equal("X-Request-Key", orders.HeaderName);
        Assert.Equal(IdempotencyOutcomes.Success | IdempotencyOutcomes.ServerError, orders.KeepOutcomes);
        Assert.True(orders.Keeps(503));
        Assert.False(orders.Keeps(404));
        var plain = options.FindIdempotencyPolicy("plain")!;
        Assert.Equal((false, false, TimeSpan.FromMinutes(1), "Idempotency-Key", IdempotencyOutcomes.Default),
            (plain.RequireKey, plain.WaitForDuplicates, plain.KeepFor, plain.HeaderName, plain.KeepOutcomes));
    }

    [Theory]
    [InlineData("KeepFor", "00:00:00", "KeepFor is 00:00:00")]
    [InlineData("KeepFor", "400.00:00:00", "at most 365 days")]
    [InlineData("KeepForSeconds", "-5", "KeepFor is -00:00:05")]
    [InlineData("KeepOutcomes", "Sucess", "'Sucess' is not an outcome")]
    [InlineData("KeepOutcomes", "16", "'16' is not an outcome")]
    [InlineData("HeaderName", "Bad Header", "not a valid header name")]
    [InlineData("RequireKey", "yes", "not a valid Boolean")]
    [InlineData("Retention", "1", "'Retention' is not a setting of an idempotency policy")]
    public async Task A_bad_configured_policy_value_stops_the_start_naming_its_path(string key, string value, string message)
    {
        var section = Section(new() { [$"Coalesce:IdempotencyPolicies:orders:{key}"] = value });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(
            a => a.MapPost("/orders", () => "ok").WithIdempotency("orders"),
            services: s => s.AddRequestCoalescing(section)));

        Assert.Contains($"Coalesce:IdempotencyPolicies:orders:{key}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_threshold_out_of_range_fails_validation_at_start_up()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => TestApp.StartAsync(
            a => a.MapPost("/orders", () => "ok").WithIdempotency(),
            o => o.IdempotencyBodyMemoryThreshold = -1));

        Assert.Contains("IdempotencyBodyMemoryThreshold is -1; it must be between 0 and", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Endpoints_naming_an_unknown_policy_or_with_a_bad_attribute_stop_the_start_naming_each()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => TestApp.StartAsync(a =>
        {
            a.MapPost("/orders", () => "ok").WithIdempotency("nobody-added-this");
            a.MapPost("/bad", [Idempotent(KeepForSeconds = -1)] () => "ok");
            a.MapPost("/both", [Idempotent(PolicyName = "x", RequireKey = true)] () => "ok");
            a.MapPost("/fine", () => "ok").WithIdempotency("fine");
        }, o => o.AddIdempotencyPolicy("fine", p => p.RequireKey())));

        Assert.Contains("3 endpoint(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("the idempotency policy 'nobody-added-this', which is not registered", ex.Message, StringComparison.Ordinal);
        Assert.Contains("KeepFor is -00:00:01", ex.Message, StringComparison.Ordinal);
        Assert.Contains("names the policy 'x' and also sets its own settings", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_builder_refuses_bad_values_with_messages_naming_them()
    {
        var builder = new IdempotencyPolicyBuilder();
        Assert.Contains("KeepFor is 00:00:00", Assert.Throws<ArgumentOutOfRangeException>(() => builder.KeepFor(TimeSpan.Zero)).Message, StringComparison.Ordinal);
        Assert.Contains("'X Key' is not a valid header name", Assert.Throws<ArgumentException>(() => builder.HeaderName("X Key")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => builder.HeaderName(" "));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.KeepOutcomes((IdempotencyOutcomes)16));
        Assert.Throws<ArgumentException>(() => new RequestCoalescingOptions().AddIdempotencyPolicy("", _ => { }));
    }
}
