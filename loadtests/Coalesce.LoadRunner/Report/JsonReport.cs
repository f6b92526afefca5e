using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Coalesce.LoadRunner.Report;

/// <summary>
/// report.json: the whole <see cref="LoadReport"/>, every measured run included, in camelCase with enum names as text;
/// each scenario result carries its <c>scenario</c> and its <c>mode</c>.
/// </summary>
internal static class JsonReport
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // A file for people and tools, never embedded in HTML: apostrophes and '+' stay as they are.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Write(LoadReport report) => JsonSerializer.Serialize(report, Options) + "\n";
}
