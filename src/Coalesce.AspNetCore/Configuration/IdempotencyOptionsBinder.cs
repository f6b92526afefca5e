using Microsoft.Extensions.Configuration;
using static Coalesce.AspNetCore.ConfigurationReader;

namespace Coalesce.AspNetCore;

/// <summary>
/// Binds the idempotency part of <see cref="RequestCoalescingOptions"/>: <c>IdempotencyBodyMemoryThreshold</c>, and named
/// policies under <c>IdempotencyPolicies:{name}</c> with the keys of <see cref="IdempotentAttribute"/> (<c>RequireKey</c>,
/// <c>KeepFor</c> as <c>hh:mm:ss</c> or <c>KeepForSeconds</c>, <c>WaitForDuplicates</c>, <c>HeaderName</c>,
/// <c>KeepOutcomes</c> as <c>"Success, ClientError"</c>). A bad value stops the start with its configuration path.
/// </summary>
internal static class IdempotencyOptionsBinder
{
    private const string KeepForKey = "KeepFor";

    private static readonly string[] KnownKeys =
    [
        nameof(IdempotentAttribute.RequireKey), KeepForKey, nameof(IdempotentAttribute.KeepForSeconds),
        nameof(IdempotentAttribute.WaitForDuplicates), nameof(IdempotentAttribute.HeaderName), nameof(IdempotentAttribute.KeepOutcomes),
    ];

    public static void Bind(OptionsSection section, RequestCoalescingOptions options)
    {
        options.IdempotencyBodyMemoryThreshold = section.Int(nameof(options.IdempotencyBodyMemoryThreshold), options.IdempotencyBodyMemoryThreshold);
        foreach (var policy in section.Child("IdempotencyPolicies").GetChildren())
        {
            options.AddIdempotencyPolicy(policy.Key, BuildPolicy(policy));
        }
    }

    private static IdempotencyPolicy BuildPolicy(IConfigurationSection section)
    {
        var option = $"the idempotency policy '{section.Key}'";
        var builder = new IdempotencyPolicyBuilder();
        var key = "";
        try
        {
            foreach (var child in section.GetChildren())
            {
                if (!KnownKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                {
                    key = child.Key;
                    throw new ArgumentException($"'{child.Key}' is not a setting of an idempotency policy; use {string.Join(", ", KnownKeys)}.");
                }
            }

            key = nameof(IdempotentAttribute.RequireKey);
            if (ReadBool(section, key, false, option))
            {
                builder.RequireKey();
            }

            key = KeepForKey;
            if (section[key] is not null)
            {
                builder.KeepFor(ReadTimeSpan(section, key, TimeSpan.Zero, option));
            }

            key = nameof(IdempotentAttribute.KeepForSeconds);
            if (section[key] is not null)
            {
                builder.KeepFor(TimeSpan.FromSeconds(ReadInt(section, key, 0, option)));
            }

            key = nameof(IdempotentAttribute.WaitForDuplicates);
            if (ReadBool(section, key, false, option))
            {
                builder.WaitForDuplicates();
            }

            key = nameof(IdempotentAttribute.HeaderName);
            if (section[key] is { } header)
            {
                builder.HeaderName(header);
            }

            key = nameof(IdempotentAttribute.KeepOutcomes);
            if (section[key] is { } outcomes)
            {
                builder.KeepOutcomes(ParseOutcomes(outcomes));
            }
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"Configuration value '{PathOf(section, key)}' is not valid for {option}: {ex.Message}", ex);
        }

        return builder.Build();
    }

    /// <summary>A comma-separated list of <see cref="IdempotencyOutcomes"/> names (numbers are refused: they hide typos).</summary>
    private static IdempotencyOutcomes ParseOutcomes(string text)
    {
        var outcomes = IdempotencyOutcomes.None;
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.Length == 0 || char.IsAsciiDigit(part[0]) || part[0] == '-' ||
                !Enum.TryParse<IdempotencyOutcomes>(part, ignoreCase: true, out var one))
            {
                throw new ArgumentException($"'{part}' is not an outcome; use None, Success, Redirection, ClientError, ServerError or Default, separated by commas.");
            }

            outcomes |= one;
        }

        return outcomes;
    }
}
