using System.Text.Json;
using System.Text.Json.Serialization;
using WebApi.Catalog;
using WebApi.Orders;
using WebApi.Upstream;

namespace WebApi;

/// <summary>
/// The sample's JSON, generated at build time so the app publishes with native AOT (no reflection-based
/// serialization). Web defaults, as minimal APIs use.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SampleIndex))]
[JsonSerializable(typeof(Product))]
[JsonSerializable(typeof(IReadOnlyList<Product>))]
[JsonSerializable(typeof(ProductInput))]
[JsonSerializable(typeof(WeatherReport))]
[JsonSerializable(typeof(OrderInput))]
[JsonSerializable(typeof(PlacedOrder))]
internal sealed partial class SampleJsonContext : JsonSerializerContext;

/// <summary>What <c>GET /</c> answers: the sample's name and the requests to try.</summary>
internal sealed record SampleIndex(string Name, IReadOnlyList<string> TryThese);
