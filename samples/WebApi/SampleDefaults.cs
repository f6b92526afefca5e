namespace WebApi;

/// <summary>Where the sample listens when nothing else is configured.</summary>
internal static class SampleDefaults
{
    public const string Url = "http://127.0.0.1:5080";

    /// <summary>The configuration key that, set to a Redis connection string, runs the sample on Redis.</summary>
    /// <summary>The section every request-coalescing option is bound from.</summary>
    public const string CoalesceSection = "Coalesce";

    public const string RedisKey = "Coalesce:Redis";

    public static readonly string[] TryThese =
    [
        "GET /products/1", "GET /products?category=books", "POST /products", "PUT /products/1",
        "GET /weather/Oslo", "GET /dashboard (with X-Tenant: acme)", "POST /orders (with Idempotency-Key: any-id)", "GET /_coalesce/stats",
        "GET /_coalesce (the live page, from this machine)",
    ];

    public static bool ListeningIsConfigured(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"]) ||
        !string.IsNullOrEmpty(configuration["http_ports"]) ||
        !string.IsNullOrEmpty(configuration["https_ports"]) ||
        configuration.GetSection("Kestrel:Endpoints").Exists();
}
