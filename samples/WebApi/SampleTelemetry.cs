using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace WebApi;

/// <summary>
/// OpenTelemetry for the sample: metrics from the <c>Coalesce</c> meter (and ASP.NET Core's and HttpClient's own),
/// traces of requests and outbound calls. Metrics are always scraped at <c>/metrics</c> (Prometheus text format; the
/// Grafana dashboard in deploy/grafana reads them); both also go to an OTLP collector when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the standard <c>OTEL_*</c> variables itself), or to the
/// console when <c>Telemetry:Console=true</c> asks for it: off by default, since it prints thousands of lines.
/// </summary>
internal static class SampleTelemetry
{
    public const string ServiceName = "Coalesce.Samples.WebApi";

    /// <summary>Where Prometheus scrapes the metrics.</summary>
    public const string ScrapePath = "/metrics";

    /// <summary>The switch that prints metrics and traces on the console.</summary>
    public const string ConsoleKey = "Telemetry:Console";

    /// <summary>How often the console exporter prints the metrics: often enough to watch a load test.</summary>
    private const int ConsoleExportIntervalMs = 10_000;

    public static IServiceCollection AddSampleTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var console = !otlp && configuration.GetValue(ConsoleKey, defaultValue: false);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter("Coalesce").AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
                else if (console)
                {
                    metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = ConsoleExportIntervalMs);
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
                else if (console)
                {
                    tracing.AddConsoleExporter();
                }
            });
        return services;
    }

    /// <summary>Maps the Prometheus scrape endpoint; never coalesced, so every scrape reads the figures of that moment.</summary>
    public static void MapSampleTelemetry(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPrometheusScrapingEndpoint(ScrapePath).DisableCoalescing();
}
