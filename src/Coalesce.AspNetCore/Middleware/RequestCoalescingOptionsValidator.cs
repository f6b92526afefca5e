using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>
/// Checks at start-up what the <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on
/// <see cref="RequestCoalescingOptions"/> cannot say (those are checked by <see cref="RequestCoalescingOptionsRangeValidator"/>):
/// rules across options, header names, inputs. Every message names the option and what it allows.
/// </summary>
internal sealed class RequestCoalescingOptionsValidator : IValidateOptions<RequestCoalescingOptions>
{
    internal const long MaxBodyLimit = 1L << 30;
    internal const long MinMemoBytes = 1L << 10;
    internal const long MaxMemoBytes = 1L << 40;

    public ValidateOptionsResult Validate(string? name, RequestCoalescingOptions options)
    {
        List<string>? failures = null;

        if (!IsValidWaitTimeout(options.WaitTimeout))
        {
            Add($"{nameof(RequestCoalescingOptions.WaitTimeout)} is {options.WaitTimeout}; it must be more than zero and at most 1 day, or Timeout.InfiniteTimeSpan.");
        }

        // Measured against MemoMaxBytes only when that is valid itself (its range is checked by the generated
        // validator), so one bad value gives one message.
        var memoMaxBytesValid = options.MemoMaxBytes is >= MinMemoBytes and <= MaxMemoBytes;
        var entryLimit = memoMaxBytesValid ? options.MemoMaxBytes : MaxMemoBytes;
        if (options.MemoMaxEntryBytes < MinMemoBytes || options.MemoMaxEntryBytes > entryLimit)
        {
            Add($"{nameof(RequestCoalescingOptions.MemoMaxEntryBytes)} is {options.MemoMaxEntryBytes}; it must be between {MinMemoBytes} bytes (1 KiB) and {nameof(RequestCoalescingOptions.MemoMaxBytes)} ({entryLimit} bytes).");
        }

        if (options.IdempotencyBodyMemoryThreshold is < 0 or > (int)MaxBodyLimit)
        {
            Add($"{nameof(RequestCoalescingOptions.IdempotencyBodyMemoryThreshold)} is {options.IdempotencyBodyMemoryThreshold}; it must be between 0 and {MaxBodyLimit} bytes (1 GiB).");
        }

        foreach (var header in options.VaryByHeaders)
        {
            if (string.IsNullOrWhiteSpace(header))
            {
                Add($"{nameof(RequestCoalescingOptions.VaryByHeaders)} contains an empty header name.");
            }
        }

        foreach (var header in options.IdentityHeaders)
        {
            if (string.IsNullOrWhiteSpace(header))
            {
                Add($"{nameof(RequestCoalescingOptions.IdentityHeaders)} contains an empty header name.");
            }
        }

        foreach (var input in options.IgnoredInputs)
        {
            if (!RequestInput.TryParse(input, out _))
            {
                Add($"{nameof(RequestCoalescingOptions.IgnoredInputs)} contains '{input}', which names no request input; use header:NAME, query:NAME, cookie:NAME, item:NAME, connection:remote-address, connection:remote-port or request:protocol.");
            }
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Add(string failure) => (failures ??= []).Add(failure);
    }

    internal static bool IsValidWaitTimeout(TimeSpan timeout) =>
        timeout == Timeout.InfiniteTimeSpan || (timeout > TimeSpan.Zero && timeout <= TimeSpan.FromDays(1));
}

/// <summary>The ranges written as <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on <see cref="RequestCoalescingOptions"/>, checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class RequestCoalescingOptionsRangeValidator : IValidateOptions<RequestCoalescingOptions>;
