namespace WebApi;

/// <summary>The sample's own log messages.</summary>
internal static partial class SampleLog
{
    [LoggerMessage(9001, LogLevel.Information, "Coalesce sample listening on {Address} — try GET {Address}/products/1, watch GET {Address}/_coalesce/stats")]
    public static partial void Listening(ILogger logger, string address);
}
