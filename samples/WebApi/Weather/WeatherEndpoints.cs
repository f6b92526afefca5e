using System.Net;
using Microsoft.AspNetCore.Http.HttpResults;
using WebApi.Upstream;

namespace WebApi.Weather;

/// <summary>
/// <c>GET /weather/{city}</c>: the app's own endpoint, which asks the flaky upstream through the named
/// <see cref="HttpClient"/> <c>"weather"</c>. Concurrent requests for one city are coalesced by the middleware.
/// </summary>
internal static class WeatherEndpoints
{
    public const string ClientName = "weather";
    public const int MaxCityLength = 60;

    public static IEndpointRouteBuilder MapWeather(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/weather/{city}", GetAsync).WithCoalescing();
        return endpoints;
    }

    private static async Task<IResult> GetAsync(string city, IHttpClientFactory clients, CancellationToken cancellationToken)
    {
        if (city.Length > MaxCityLength || !city.All(c => char.IsLetter(c) || c is ' ' or '-'))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["city"] = [$"A city is letters, spaces and hyphens, at most {MaxCityLength} characters."],
            });
        }

        var client = clients.CreateClient(ClientName);
        try
        {
            using var response = await client.GetAsync(new Uri($"weather/{Uri.EscapeDataString(city)}", UriKind.Relative), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return UpstreamFailed($"The weather upstream answered {(int)response.StatusCode} {response.StatusCode}.");
            }

            var report = await response.Content.ReadFromJsonAsync<WeatherReport>(cancellationToken);
            return report is null ? UpstreamFailed("The weather upstream answered an empty body.") : TypedResults.Ok(report);
        }
        catch (HttpRequestException error)
        {
            return UpstreamFailed($"The weather upstream could not be reached: {error.Message}");
        }
    }

    private static ProblemHttpResult UpstreamFailed(string detail) =>
        TypedResults.Problem(detail, statusCode: (int)HttpStatusCode.BadGateway, title: "Upstream failure");
}
