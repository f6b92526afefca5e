using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace WebApi;

/// <summary>
/// OpenTelemetry for the sample: metrics from the <c>Coalesce</c> meter (and ASP.NET Core's and HttpClient's own),
/// traces of requests and outbound calls. Exported to the console by default; to an OTLP collector instead when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the standard <c>OTEL_*</c> variables itself).
/// <c>Telemetry:Console=false</c> silences the console exporter.
/// </summary>
internal static class SampleTelemetry
{
    public const string ServiceName = "Coalesce.Samples.WebApi";

    /// <summary>How often the console exporter prints the metrics: often enough to watch a load test.</summary>
    private const int ConsoleExportIntervalMs = 10_000;

    public static IServiceCollection AddSampleTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var console = !otlp && configuration.GetValue("Telemetry:Console", defaultValue: true);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter("Coalesce").AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
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
}
