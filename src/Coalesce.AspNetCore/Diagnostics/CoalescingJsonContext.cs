using System.Text.Json.Serialization;

namespace Coalesce.AspNetCore;

/// <summary>Source-generated JSON for the stats endpoint: camelCase, no reflection (trimming and AOT safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(CoalescingStatsSnapshot))]
[JsonSerializable(typeof(CoalescingStatsWithScaleOut))]
internal sealed partial class CoalescingJsonContext : JsonSerializerContext;
