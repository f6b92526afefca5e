using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>Checks <see cref="RequestCoalescingOptions"/> at start-up; every message names the option and its range.</summary>
internal sealed class RequestCoalescingOptionsValidator : IValidateOptions<RequestCoalescingOptions>
{
    internal const long MaxBodyLimit = 1L << 30;
    internal const long MinMemoBytes = 1L << 10;
    internal const long MaxMemoBytes = 1L << 40;

    public ValidateOptionsResult Validate(string? name, RequestCoalescingOptions options)
    {
        List<string>? failures = null;

        if (options.MaxBufferedBodyBytes is < 0 or > MaxBodyLimit)
        {
            Add($"{nameof(RequestCoalescingOptions.MaxBufferedBodyBytes)} is {options.MaxBufferedBodyBytes}; it must be between 0 and {MaxBodyLimit} bytes (1 GiB).");
        }

        if (!IsValidWaitTimeout(options.WaitTimeout))
        {
            Add($"{nameof(RequestCoalescingOptions.WaitTimeout)} is {options.WaitTimeout}; it must be more than zero and at most 1 day, or Timeout.InfiniteTimeSpan.");
        }

        if (options.PassThroughDuration < TimeSpan.Zero || options.PassThroughDuration > TimeSpan.FromHours(1))
        {
            Add($"{nameof(RequestCoalescingOptions.PassThroughDuration)} is {options.PassThroughDuration}; it must be between zero and 1 hour.");
        }

        if (options.MemoMaxEntries is < 1 or > 10_000_000)
        {
            Add($"{nameof(RequestCoalescingOptions.MemoMaxEntries)} is {options.MemoMaxEntries}; it must be between 1 and 10,000,000.");
        }

        var memoMaxBytesValid = options.MemoMaxBytes is >= MinMemoBytes and <= MaxMemoBytes;
        if (!memoMaxBytesValid)
        {
            Add($"{nameof(RequestCoalescingOptions.MemoMaxBytes)} is {options.MemoMaxBytes}; it must be between {MinMemoBytes} bytes (1 KiB) and {MaxMemoBytes} bytes (1 TiB).");
        }

        // Measured against MemoMaxBytes only when that is valid itself, so one bad value gives one message.
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
