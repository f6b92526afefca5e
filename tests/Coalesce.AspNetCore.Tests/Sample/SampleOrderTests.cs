using System.Net;
using System.Text;
using System.Text.Json;

namespace Coalesce.AspNetCore.Tests.Sample;

/// <summary>The sample's idempotent order endpoint: retries place one order, a changed order under the key is refused.</summary>
public sealed class SampleOrderTests
{
    [Fact]
    public async Task Concurrent_retries_of_an_order_place_it_once_and_all_get_the_same_201()
    {
        await using var app = new SampleApp();
        var key = Guid.NewGuid().ToString();

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => PlaceAsync(app, key, "{\"productId\":1,\"quantity\":2}")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.Status));
        Assert.Single(answers.Select(a => a.Body).Distinct());
        Assert.Equal(9, answers.Count(a => a.Replayed));
        Assert.Equal(2, JsonDocument.Parse(answers[0].Body).RootElement.GetProperty("quantity").GetInt32());

        var changed = await PlaceAsync(app, key, "{\"productId\":1,\"quantity\":3}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, changed.Status);
        var withoutKey = await PlaceAsync(app, key: null, "{\"productId\":1,\"quantity\":2}");
        Assert.Equal(HttpStatusCode.BadRequest, withoutKey.Status);
        var invalid = await PlaceAsync(app, Guid.NewGuid().ToString(), "{\"productId\":1,\"quantity\":0}");
        Assert.Equal(HttpStatusCode.BadRequest, invalid.Status);
        Assert.Contains("quantity", invalid.Body, StringComparison.Ordinal);

        var stats = Assert.Single(app.Stats.GetSnapshot().Endpoints, e => e.Name == "POST /orders");
        Assert.Equal((2, 9, 1, 1), (stats.IdempotencyClaims, stats.IdempotencyReplays, stats.IdempotencyMismatches, stats.IdempotencyRejections));
    }

    private static async Task<(HttpStatusCode Status, string Body, bool Replayed)> PlaceAsync(SampleApp app, string? key, string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }

        using var response = await app.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers.Contains("Idempotent-Replayed"));
    }
}
