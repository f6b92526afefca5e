using System.Text.Json.Serialization;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Source-generated JSON for the stats endpoint's <c>redis</c> object: camelCase like the rest of the document, no
/// reflection (trimming and AOT safe).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RedisCoalescingStats))]
internal sealed partial class RedisJsonContext : JsonSerializerContext;
