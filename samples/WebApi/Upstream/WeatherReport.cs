namespace WebApi.Upstream;

/// <summary>What the upstream weather service answers.</summary>
internal sealed record WeatherReport(string City, int TemperatureC, string Summary, string Source);
