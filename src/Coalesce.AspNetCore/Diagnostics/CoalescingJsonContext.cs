using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Source-generated JSON for the stats endpoint: camelCase, no reflection (trimming and AOT safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CoalescingStatsSnapshot))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class CoalescingJsonContext : JsonSerializerContext;
