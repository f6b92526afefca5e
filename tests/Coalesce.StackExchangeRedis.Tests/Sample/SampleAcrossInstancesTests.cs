using System.Net;
using System.Text;
using System.Text.Json;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Issue 26, item 7: two instances of the sample on one Redis, started as a user would, show the truth: the catalogue
/// lives in Redis, so a write on one instance is what the other reads next, and neither instance's own copy of the
/// data can end up in the shared level.
/// </summary>
public sealed class SampleAcrossInstancesTests
{
    [RedisFact]
    public async Task A_write_on_one_sample_instance_is_read_on_the_other()
    {
        await using var redis = await RedisServerFixture.StartAsync();
        await using var a = await SampleProcess.StartAsync(redis.Configuration);
        await using var b = await SampleProcess.StartAsync(redis.Configuration);
        try
        {
            // Both read the seeded product; B's answer may well be A's render from Redis.
            Assert.Equal("The Pragmatic Programmer", await NameAsync(a, "/products/1"));
            Assert.Equal("The Pragmatic Programmer", await NameAsync(b, "/products/1"));

            using (var put = await a.Client.PutAsync("/products/1", Json("""{"name":"Renamed","price":9.5,"category":"books"}""")))
            {
                Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            }

            // Read-your-writes on the other instance: the 2xx came after B evicted, and B's next render reads Redis.
            Assert.Equal("Renamed", await NameAsync(b, "/products/1"));
            Assert.Equal("Renamed", await NameAsync(a, "/products/1"));

            // A product created on B is there on A, under the id B's write got.
            using var created = await b.Client.PostAsync("/products", Json("""{"name":"Abacus","price":3.0,"category":"tools"}"""));
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetInt32();
            Assert.Equal(9, id);
            Assert.Equal("Abacus", await NameAsync(a, $"/products/{id}"));

            foreach (var instance in new[] { a, b })
            {
                using var health = await instance.Client.GetAsync("/healthz");
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
                Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidOperationException($"A says:\n{a.Output}\nB says:\n{b.Output}", ex);
        }
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<string> NameAsync(SampleProcess sample, string path)
    {
        using var response = await sample.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("name").GetString()!;
    }
}
