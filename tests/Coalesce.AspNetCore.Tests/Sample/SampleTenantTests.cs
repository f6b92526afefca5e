using System.Text.Json;

namespace Coalesce.AspNetCore.Tests.Sample;

/// <summary>The sample's multi-tenant dashboard: shared per tenant, never across, and named in the stats.</summary>
public sealed class SampleTenantTests
{
    [Fact]
    public async Task Two_tenants_at_once_each_get_their_own_dashboard_and_the_stats_name_the_input()
    {
        await using var app = new SampleApp();

        var tenants = new[] { "acme", "globex", "acme", "globex", "acme", "globex" };
        var bodies = await Task.WhenAll(tenants.Select(async tenant =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/dashboard");
            request.Headers.Add("X-Tenant", tenant);
            using var response = await app.Client.SendAsync(request);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("tenant").GetString();
        }));

        Assert.Equal(tenants, bodies);
        var endpoint = Assert.Single(app.Stats.GetSnapshot().Endpoints, e => e.Name == "GET /dashboard");
        Assert.Contains("item:tenant", endpoint.UnkeyedInputs);
        Assert.True(endpoint.Hits > 0, "each tenant's concurrent requests still share");
    }
}
