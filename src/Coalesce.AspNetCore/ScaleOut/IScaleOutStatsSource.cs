using System.Text.Json.Nodes;

namespace Coalesce.AspNetCore;

/// <summary>
/// The scale-out level's figures for <c>GET /_coalesce/stats</c>, which shows them as its <c>redis</c> object.
/// Registered by a scale-out package (for example <c>AddStackExchangeRedisCoalescing</c>); absent otherwise, and
/// then the object is absent too.
/// </summary>
/// <remarks>
/// The package owns the figures' one type (the Redis package's public <c>RedisCoalescingStats</c>, also what its
/// <c>GetSnapshot()</c> and meter read) and serializes it with its own source-generated, camelCase JSON; this
/// package only places the object after the fields every app shows, so no second copy of the shape exists here.
/// </remarks>
internal interface IScaleOutStatsSource
{
    /// <summary>The figures at this moment, as a camelCase JSON object.</summary>
    JsonNode GetStatsJson();
}
