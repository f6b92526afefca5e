using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>
/// Checks at start-up what the <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on
/// <see cref="RedisCoalescingOptions"/> cannot say (those are checked by <see cref="RedisCoalescingOptionsRangeValidator"/>):
/// where the connection comes from, the key prefix, rules across options. Every message names the option and what it allows.
/// </summary>
internal sealed class RedisCoalescingOptionsValidator : IValidateOptions<RedisCoalescingOptions>
{
    internal const int MaxKeyPrefixLength = 100;
    internal const int MaxEntryBytesLimit = 512 * 1024 * 1024;
    internal static readonly TimeSpan MinLeaseDuration = TimeSpan.FromMilliseconds(100);
    internal static readonly TimeSpan MaxLeaseDuration = TimeSpan.FromMinutes(10);
    private static readonly System.Buffers.SearchValues<char> NotInPrefix = System.Buffers.SearchValues.Create("{} \t\r\n");

    public ValidateOptionsResult Validate(string? name, RedisCoalescingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string>? failures = null;

        var sources = (options.Configuration is null ? 0 : 1) + (options.ConfigurationOptions is null ? 0 : 1)
            + (options.ConnectionMultiplexerFactory is null ? 0 : 1);
        if (sources != 1)
        {
            Add($"Set exactly one of {nameof(RedisCoalescingOptions.Configuration)}, {nameof(RedisCoalescingOptions.ConfigurationOptions)} and {nameof(RedisCoalescingOptions.ConnectionMultiplexerFactory)}; {sources} are set.");
        }

        if (options.Configuration is { } configuration)
        {
            if (string.IsNullOrWhiteSpace(configuration))
            {
                Add($"{nameof(RedisCoalescingOptions.Configuration)} is empty; give a StackExchange.Redis configuration string such as \"127.0.0.1:6379\".");
            }
            else
            {
                try
                {
                    if (ConfigurationOptions.Parse(configuration).EndPoints.Count == 0)
                    {
                        Add($"{nameof(RedisCoalescingOptions.Configuration)} \"{configuration}\" names no endpoint; give one such as \"127.0.0.1:6379\".");
                    }
                }
                catch (ArgumentException ex)
                {
                    Add($"{nameof(RedisCoalescingOptions.Configuration)} \"{configuration}\" is not a valid StackExchange.Redis configuration string: {ex.Message}");
                }
            }
        }

        if (options.ConfigurationOptions is { EndPoints.Count: 0 })
        {
            Add($"{nameof(RedisCoalescingOptions.ConfigurationOptions)} names no endpoint.");
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix))
        {
            Add($"{nameof(RedisCoalescingOptions.KeyPrefix)} is empty; it must name the app's keys, for example \"coalesce\".");
        }
        else if (options.KeyPrefix.Length > MaxKeyPrefixLength || options.KeyPrefix.AsSpan().ContainsAny(NotInPrefix))
        {
            Add($"{nameof(RedisCoalescingOptions.KeyPrefix)} \"{options.KeyPrefix}\" must be at most {MaxKeyPrefixLength} characters, without braces or white space (it becomes a cluster hash tag).");
        }

        // The ranges are checked by RedisCoalescingOptionsRangeValidator; the rules across options only when both
        // sides are in range, so one bad value gives one message.
        if (options.LeaseDuration >= MinLeaseDuration && options.LeaseDuration <= MaxLeaseDuration && options.ReadBudget > TimeSpan.Zero &&
            options.LeaseDuration < 2 * options.ReadBudget)
        {
            Add($"{nameof(RedisCoalescingOptions.LeaseDuration)} is {options.LeaseDuration}; it must be at least twice {nameof(RedisCoalescingOptions.ReadBudget)} ({options.ReadBudget}), so a renewal lands before the lease lapses.");
        }

        if (options.NodeLiveness <= options.HeartbeatInterval)
        {
            Add($"{nameof(RedisCoalescingOptions.NodeLiveness)} is {options.NodeLiveness}; it must be longer than {nameof(RedisCoalescingOptions.HeartbeatInterval)} ({options.HeartbeatInterval}).");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Add(string failure) => (failures ??= []).Add(failure);
    }
}

/// <summary>The ranges written as <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/>s on <see cref="RedisCoalescingOptions"/>, checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class RedisCoalescingOptionsRangeValidator : IValidateOptions<RedisCoalescingOptions>;
