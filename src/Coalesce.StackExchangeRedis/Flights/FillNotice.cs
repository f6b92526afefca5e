namespace Coalesce.StackExchangeRedis;

/// <summary>
/// A lease holder's notice on the fill channel: how its execution ended (<c>Complete</c>'s modes), that another
/// instance waits for it, or (never sent) that Redis is being left alone.
/// </summary>
/// <param name="Mode">One of the constants below.</param>
/// <param name="Milliseconds">How long a pass lasts, or a fill stays; 0 otherwise.</param>
internal readonly record struct FillNotice(string Mode, long Milliseconds)
{
    public const string Stored = "stored";
    public const string Fill = "fill";
    public const string Pass = "pass";
    public const string Release = "release";
    public const string Waiting = "waiting";
    public const string UnavailableMode = "unavailable";

    /// <summary><c>Complete</c>'s first step for a fill: it keeps the lease when an instance waits, so the fill follows.</summary>
    public const string Offer = "offer";

    public static FillNotice Unavailable => new(UnavailableMode, 0);
}
