using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Coalesce.AspNetCore;

/// <summary>
/// What every part of the request path shares: the options, the clock, the log, the flights in progress and the keys
/// passing through, the memo cache and the other instances — and the few acts every part performs on them
/// (answering with a stored or shared response, settling a flight, handing it over).
/// </summary>
internal sealed class RequestPath(
    RequestDelegate next,
    RequestCoalescingOptions options,
    RequestFlights flights,
    MemoCache cache,
    TimeProvider time,
    ILogger logger,
    ScaleOutSeams scaleOut)
{
    private const string CacheStatusName = "Coalesce";

    /// <summary>The rest of the app's pipeline: the endpoint, for a request routing has matched.</summary>
    public RequestDelegate Next { get; } = next;

    public RequestCoalescingOptions Options { get; } = options;

    public TimeProvider Time { get; } = time;

    public ILogger Logger { get; } = logger;

    public MemoCache Cache { get; } = cache;

    /// <summary>The flights in progress, and which of them an invalidation must reach.</summary>
    public RequestFlights Flights { get; } = flights;

    /// <summary>The flight map itself.</summary>
    public SharedCall Calls { get; } = flights.Calls;

    /// <summary>Keys whose last response could not be shared: their requests run on their own for a while.</summary>
    public PassThroughKeys PassThrough { get; } = new(time);

    public ScaleOutSeams ScaleOut { get; } = scaleOut;

    /// <summary>How long a follower of <paramref name="state"/>'s endpoint waits for its leader.</summary>
    public TimeSpan WaitTimeout(EndpointState state) => state.Policy.WaitTimeout ?? Options.WaitTimeout;

    /// <summary>
    /// Says how the request is answered: in its <c>Cache-Status</c> (when on; with why it did not share when an input
    /// differed) and in a Debug log.
    /// </summary>
    public void SetCacheStatus(HttpContext context, string status)
    {
        var emit = Options.EmitCacheStatus;
        var debug = Logger.IsEnabled(LogLevel.Debug);
        if (!emit && !debug)
        {
            return;
        }

        var refused = status is CacheStatus.Miss or CacheStatus.Bypass ? RequestInputs.Of(context)?.Refused : null;
        if (emit)
        {
            CacheStatus.Set(context.Response, CacheStatusName, refused is { } input ? CacheStatus.InputDiffers(status, input) : status);
        }

        if (debug)
        {
            CoalescingLog.Answered(Logger, context.Request.Method, context.Request.Path.Value, Describe(status), refused is { } why ? $" (not shared: its {why} differs from the response's)" : string.Empty);
        }
    }

    private static string Describe(string status) => status switch
    {
        CacheStatus.Hit => "answered from a memoized response",
        CacheStatus.Collapsed => "answered by another request's execution",
        CacheStatus.Miss => "led an execution",
        CacheStatus.Bypass => "ran on its own",
        _ => status,
    };

    /// <summary>Runs the endpoint for this request alone: nobody waits on it and nothing is kept.</summary>
    public async Task RunAloneAsync(HttpContext context, ExecutionCounters counters)
    {
        SetCacheStatus(context, CacheStatus.Bypass);

        counters.StartedAlone();
        try
        {
            await Next(context).ConfigureAwait(false);
        }
        catch when (!context.RequestAborted.IsCancellationRequested)
        {
            counters.Completed(failed: true);
            throw;
        }
        catch
        {
            counters.Completed(failed: false);
            throw;
        }

        counters.Completed(failed: false);
    }

    /// <summary>Answers <paramref name="context"/> with <paramref name="response"/>, for its own request.</summary>
    public Task ReplayAsync(HttpContext context, CapturedResponse response, string cacheStatus, bool stored = false, bool evenIfTimedOut = false)
    {
        SetCacheStatus(context, cacheStatus);

        // A request that timed out (ASP.NET's request timeouts) has a cancelled abort token but a client still there.
        return response.ReplayAsync(context, Time.GetUtcNow(), stored, evenIfTimedOut ? CancellationToken.None : context.RequestAborted);
    }

    /// <summary>
    /// Whether <paramref name="response"/> answers <paramref name="context"/>'s request: its encoding and range fit, and
    /// every input it was computed from outside the key has the same value in this request. A share refused for an
    /// input is counted on the endpoint.
    /// </summary>
    public bool CanAnswer(CapturedResponse response, HttpContext context, EndpointState state)
    {
        if (!response.CanAnswer(context))
        {
            return false;
        }

        if (response.Inputs?.FindDifference(context) is not { } differs)
        {
            return true;
        }

        state.Inputs.CountRefusal();
        var counters = state.CountersFor(context.Request.Method);
        counters.Metrics?.ServerRefused(counters, differs);
        CoalescingLog.InputDiffered(Logger, state.Name, differs.ToString());
        if (RequestInputs.Of(context) is { } inputs)
        {
            inputs.Refused = differs;
        }

        return false;
    }

    /// <summary>Ends <paramref name="flight"/> with an outcome or an error; its bookkeeping first, then its followers.</summary>
    public void Settle(RequestFlight flight, FlightOutcome? outcome, Exception? error = null)
    {
        Flights.Unwatch(flight);
        if (error is not null)
        {
            flight.TryFail(error);
        }
        else
        {
            flight.TrySucceed(outcome!.Value);
        }
    }

    /// <summary>The leader's client went away: one waiting follower leads the flight, or it ends.</summary>
    public void HandOver(RequestFlight flight)
    {
        flight.HandOver();
        if (flight.IsSettled)
        {
            Flights.Unwatch(flight);
        }
    }
}
