using System.Net;
using Coalesce;
using Coalesce.AspNetCore;
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
            // After the client's last retry, an error status is the response (as with the standard resilience handler).
            using var response = await client.GetAsync(new Uri($"weather/{Uri.EscapeDataString(city)}", UriKind.Relative), cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return UpstreamFailed($"The weather upstream answered {(int)response.StatusCode} {response.StatusCode}.");
            }

            var report = await response.Content.ReadFromJsonAsync(SampleJsonContext.Default.WeatherReport, cancellationToken);
            return report is null ? UpstreamFailed("The weather upstream answered an empty body.") : TypedResults.Ok(report);
        }
        catch (HttpRequestException error)
        {
            // Network failures and timeouts of every attempt: an HttpAllAttemptsFailedException, one attempt per error.
            var attempts = error is HttpAllAttemptsFailedException all ? $" ({all.AttemptCount} attempts)" : string.Empty;
            return UpstreamFailed($"The weather upstream could not be reached{attempts}: {error.InnerException?.Message ?? error.Message}");
        }
        catch (RateLimitRejectedException rejected)
        {
            return TypedResults.Problem(rejected.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Upstream rate limit");
        }
    }

    private static ProblemHttpResult UpstreamFailed(string detail) =>
        TypedResults.Problem(detail, statusCode: (int)HttpStatusCode.BadGateway, title: "Upstream failure");
}
