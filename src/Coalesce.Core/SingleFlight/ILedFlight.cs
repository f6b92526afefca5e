namespace Coalesce;

/// <summary>A flight whose leader settles it itself (<see cref="SharedCall.JoinOrLead{T}"/>).</summary>
internal interface ILedFlight<in T>
{
    /// <summary>Ends the flight with <paramref name="value"/>; <see langword="false"/> when it had ended already.</summary>
    bool TrySucceed(T value);

    /// <summary>Ends the flight with <paramref name="error"/>; <see langword="false"/> when it had ended already.</summary>
    bool TryFail(Exception error);
}
