namespace Coalesce.AspNetCore;

/// <summary>What a leader's flight hands its followers.</summary>
internal enum FlightOutcomeKind
{
    /// <summary>A complete response the followers replay.</summary>
    Shared,

    /// <summary>A response that must not be shared (a cookie, too large, unfinished): followers run their own.</summary>
    NotShareable,

    /// <summary>The leader's client went away before its response was done: a follower takes over.</summary>
    LeaderAborted,

    /// <summary>
    /// Nobody had joined when the leader finished, so no copy was made; a follower that joined in that last
    /// instant runs its own request.
    /// </summary>
    NotCaptured,
}

/// <summary>The result of a request flight.</summary>
internal readonly record struct FlightOutcome(FlightOutcomeKind Kind, CapturedResponse? Response)
{
    public static FlightOutcome NotShareable => new(FlightOutcomeKind.NotShareable, null);

    public static FlightOutcome LeaderAborted => new(FlightOutcomeKind.LeaderAborted, null);

    public static FlightOutcome NotCaptured => new(FlightOutcomeKind.NotCaptured, null);

    public static FlightOutcome Shared(CapturedResponse response) => new(FlightOutcomeKind.Shared, response);
}
