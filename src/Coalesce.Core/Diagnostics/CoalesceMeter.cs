using System.Diagnostics.Metrics;

namespace Coalesce.Diagnostics;

/// <summary>
/// The <c>Coalesce</c> meter that every layer publishes on, so dotnet-counters and OpenTelemetry see the same
/// figures as <c>GET /_coalesce/stats</c>. Instruments carry the tags <c>coalesce.layer</c>
/// (<c>requests</c>, <c>cache</c>, <c>endpoint</c>, <c>httpclient</c>, <c>resilience</c>) and
/// <c>coalesce.name</c> (endpoint, client or component name).
/// </summary>
internal static class CoalesceMeter
{
    public const string Name = "Coalesce";
    public const string LayerTag = "coalesce.layer";
    public const string NameTag = "coalesce.name";

    public static readonly Meter Meter = new(Name, typeof(CoalesceMeter).Assembly.GetName().Version?.ToString());

    public static KeyValuePair<string, object?>[] Tags(string layer, string name) =>
        [new(LayerTag, layer), new(NameTag, name)];
}
