namespace Coalesce.AspNetCore;

/// <summary>
/// What the <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on option properties share. Those ranges
/// are checked at start-up by source-generated validators (<see cref="Microsoft.Extensions.Options.OptionsValidatorAttribute"/>),
/// whose message names the option and both bounds: <c>MemoMaxEntries: The field RequestCoalescingOptions.MemoMaxEntries
/// must be between 1 and 10000000.</c> (the generated check does not use a custom <c>ErrorMessage</c>, so none is set).
/// </summary>
internal static class OptionRanges
{
    /// <summary>
    /// Why a <c>[Range(typeof(TimeSpan), ...)]</c> is trimming-safe here: only the source-generated validator reads it,
    /// and it compiles its own copy of the range that parses the bounds without a <c>TypeConverter</c>; nothing
    /// reflects over the attribute.
    /// </summary>
    public const string TimeRangeJustification =
        "The range is read only by the source-generated options validator, which parses TimeSpan bounds without a TypeConverter.";
}
