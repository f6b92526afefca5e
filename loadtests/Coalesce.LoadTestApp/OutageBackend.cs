namespace Coalesce.LoadTestApp;

/// <summary>
/// The outage scenario's backend, shared by its variants: <c>POST /_backend/down</c> makes every execution fail
/// (after its work, with <see cref="BackendUnavailableException"/>) until <c>POST /_backend/up</c>.
/// </summary>
internal sealed class OutageBackend
{
    private volatile bool _down;

    public bool IsDown => _down;

    public void GoDown() => _down = true;

    public void GoUp() => _down = false;
}

/// <summary>What the outage scenario's handler throws while its backend is down; answered as 503.</summary>
internal sealed class BackendUnavailableException() : Exception("The backend is down.");

/// <summary>Endpoint metadata: the variant whose answers <see cref="OutageAnswers"/> counts.</summary>
internal sealed record CountsAnswers(ScenarioCounters.Variant Counter);

/// <summary>
/// Outside the coalescing middleware, for endpoints with <see cref="CountsAnswers"/>: turns the backend's
/// exception into a 503 (the app has no exception handler, and Kestrel would log every one), and counts each
/// answer's status, and whether the backend was down while it was served.
/// </summary>
internal static class OutageAnswers
{
    public static IApplicationBuilder UseOutageAnswers(this IApplicationBuilder app, OutageBackend backend) =>
        app.Use((context, next) =>
            context.GetEndpoint()?.Metadata.GetMetadata<CountsAnswers>() is { } counts ? AnswerAsync(context, next, counts.Counter, backend) : next(context));

    private static async Task AnswerAsync(HttpContext context, RequestDelegate next, ScenarioCounters.Variant counter, OutageBackend backend)
    {
        var downAtStart = backend.IsDown;
        try
        {
            await next(context);
        }
        catch (BackendUnavailableException) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        }

        counter.Answered(context.Response.StatusCode, downAtStart || backend.IsDown);
    }
}
