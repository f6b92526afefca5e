using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Coalesce.AspNetCore;

/// <summary>One input of a leader's response, with the value it had in the leader's request.</summary>
internal readonly record struct ObservedInput(RequestInput Input, StringValues Value);

/// <summary>
/// The inputs a response was computed from that its key does not hold, with the leader's values — a <c>Vary</c> the
/// server computed itself. It travels with the response (to followers, into the memo cache, the second level and
/// other instances); another request shares the response only when its own values are equal.
/// </summary>
internal sealed class ObservedInputs(ObservedInput[] inputs)
{
    public ObservedInput[] Inputs { get; } = inputs;

    /// <summary>
    /// The first input whose value in <paramref name="context"/>'s request differs from the leader's, or
    /// <see langword="null"/> when every one is equal (the request may share the response).
    /// </summary>
    public RequestInput? FindDifference(HttpContext context)
    {
        var recorder = RequestInputs.Of(context);
        foreach (var (input, value) in Inputs)
        {
            if (!StringValues.Equals(value, RequestInputs.ValueOf(context, recorder, input)))
            {
                return input;
            }
        }

        return null;
    }

    public override string ToString() => string.Join(", ", Inputs.Select(i => i.Input.ToString()));
}
