namespace Coalesce.AspNetCore;

/// <summary>
/// The single-flight group of the app's request flights: one per app, so every middleware instance (and the
/// tests that watch followers join) sees the same flights.
/// </summary>
internal sealed class RequestFlights
{
    public SharedCall Calls { get; } = new();
}
