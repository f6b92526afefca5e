using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Coalesce.StackExchangeRedis;

/// <summary>Checks <see cref="RedisCoalescingOptions"/> at start-up; every message names the option and what it allows.</summary>
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

        Budget(options.ReadBudget, nameof(RedisCoalescingOptions.ReadBudget), TimeSpan.FromSeconds(30));
        Budget(options.InvalidationBudget, nameof(RedisCoalescingOptions.InvalidationBudget), TimeSpan.FromSeconds(30));
        Budget(options.AckTimeout, nameof(RedisCoalescingOptions.AckTimeout), TimeSpan.FromMinutes(1));
        Budget(options.HeartbeatInterval, nameof(RedisCoalescingOptions.HeartbeatInterval), TimeSpan.FromMinutes(1));
        Budget(options.NodeLiveness, nameof(RedisCoalescingOptions.NodeLiveness), TimeSpan.FromMinutes(5));
        Budget(options.BreakerProbeInterval, nameof(RedisCoalescingOptions.BreakerProbeInterval), TimeSpan.FromMinutes(5));
        if (options.LeaseDuration < MinLeaseDuration || options.LeaseDuration > MaxLeaseDuration)
        {
            Add($"{nameof(RedisCoalescingOptions.LeaseDuration)} is {options.LeaseDuration}; it must be between {MinLeaseDuration} and {MaxLeaseDuration}.");
        }
        else if (options.LeaseDuration < 2 * options.ReadBudget)
        {
            Add($"{nameof(RedisCoalescingOptions.LeaseDuration)} is {options.LeaseDuration}; it must be at least twice {nameof(RedisCoalescingOptions.ReadBudget)} ({options.ReadBudget}), so a renewal lands before the lease lapses.");
        }

        if (options.NodeLiveness <= options.HeartbeatInterval)
        {
            Add($"{nameof(RedisCoalescingOptions.NodeLiveness)} is {options.NodeLiveness}; it must be longer than {nameof(RedisCoalescingOptions.HeartbeatInterval)} ({options.HeartbeatInterval}).");
        }

        if (options.BreakerFailureThreshold is < 1 or > 1000)
        {
            Add($"{nameof(RedisCoalescingOptions.BreakerFailureThreshold)} is {options.BreakerFailureThreshold}; it must be between 1 and 1000.");
        }

        if (options.MaxEntryBytes is < 1 or > MaxEntryBytesLimit)
        {
            Add($"{nameof(RedisCoalescingOptions.MaxEntryBytes)} is {options.MaxEntryBytes}; it must be between 1 and {MaxEntryBytesLimit} bytes (512 MiB, Redis's largest string).");
        }

        if (options.InvalidationLogLength is < 1 or > 10_000_000)
        {
            Add($"{nameof(RedisCoalescingOptions.InvalidationLogLength)} is {options.InvalidationLogLength}; it must be between 1 and 10,000,000.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);

        void Budget(TimeSpan value, string option, TimeSpan max)
        {
            if (value <= TimeSpan.Zero || value > max)
            {
                Add($"{option} is {value}; it must be more than zero and at most {max}.");
            }
        }

        void Add(string failure) => (failures ??= []).Add(failure);
    }
}
