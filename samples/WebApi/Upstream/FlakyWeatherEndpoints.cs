namespace WebApi.Upstream;

/// <summary>
/// A stand-in for a remote weather service, hosted in the same app so the sample needs nothing else:
/// <c>/upstream/weather/{city}</c> fails <c>Upstream:FailureRate</c> of its calls with 503, except when it is
/// reached through the fallback origin (<c>Upstream:FallbackAddress</c>, the same app under another host name),
/// which fails <c>Upstream:FallbackFailureRate</c> of its calls. It is not coalesced: every call the weather client
/// makes reaches it, as it would reach a real remote service.
/// </summary>
internal static class FlakyWeatherEndpoints
{
    public const string Prefix = "/upstream";

    private static readonly string[] Summaries = ["Freezing", "Cold", "Mild", "Warm", "Hot"];

    public static IEndpointRouteBuilder MapFlakyUpstream(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Prefix + "/weather/{city}", async (string city, HttpRequest request, FlakyUpstream upstream, CancellationToken cancellationToken) =>
        {
            await Task.Delay(upstream.Latency, cancellationToken);
            var fallback = upstream.IsFallback(request.Host);
            var fails = fallback ? upstream.NextFallbackCallFails() : upstream.NextCallFails();
            return fails
                ? Results.Problem("The upstream is having a bad moment.", statusCode: StatusCodes.Status503ServiceUnavailable)
                : Results.Ok(Report(city, fallback ? "fallback" : "primary"));
        }).DisableCoalescing().ExcludeFromDescription();

        return endpoints;
    }

    // Deterministic per city, so a replayed or fallback answer is easy to recognise.
    private static WeatherReport Report(string city, string source)
    {
        var hash = 0;
        foreach (var c in city.ToUpperInvariant())
        {
            hash = unchecked((hash * 31) + c);
        }

        var temperature = Math.Abs(hash % 45) - 10;
        return new WeatherReport(city, temperature, Summaries[Math.Min((temperature + 10) / 10, Summaries.Length - 1)], source);
    }
}
