using Microsoft.Extensions.Configuration;
using static Coalesce.AspNetCore.ConfigurationReader;

namespace Coalesce.AspNetCore;

/// <summary>
/// Binds <see cref="RequestCoalescingOptions"/> from a configuration section (for example <c>Coalesce</c>): keys
/// named as the properties, times as <c>hh:mm:ss</c> (or <c>Infinite</c>), lists as JSON arrays that replace the
/// defaults, and named policies under <c>Policies:{name}</c> with the keys of <see cref="CoalesceAttribute"/>.
/// </summary>
internal static class RequestCoalescingOptionsBinder
{
    private const string Options = nameof(RequestCoalescingOptions);
    private const string VaryByRouteValueKey = "VaryByRouteValue";
    private const string VaryByIdentityKey = "VaryByIdentity";

    public static void Bind(IConfiguration section, RequestCoalescingOptions options)
    {
        options.CoalesceAllGetRequests = ReadBool(section, nameof(options.CoalesceAllGetRequests), options.CoalesceAllGetRequests, Name(nameof(options.CoalesceAllGetRequests)));
        options.MaxBufferedBodyBytes = ReadLong(section, nameof(options.MaxBufferedBodyBytes), options.MaxBufferedBodyBytes, Name(nameof(options.MaxBufferedBodyBytes)));
        options.WaitTimeout = ReadTimeSpan(section, nameof(options.WaitTimeout), options.WaitTimeout, Name(nameof(options.WaitTimeout)));
        options.PassThroughDuration = ReadTimeSpan(section, nameof(options.PassThroughDuration), options.PassThroughDuration, Name(nameof(options.PassThroughDuration)));
        options.VaryByIdentity = ReadBool(section, nameof(options.VaryByIdentity), options.VaryByIdentity, Name(nameof(options.VaryByIdentity)));
        options.EmitCacheStatus = ReadBool(section, nameof(options.EmitCacheStatus), options.EmitCacheStatus, Name(nameof(options.EmitCacheStatus)));
        options.MemoMaxEntries = ReadInt(section, nameof(options.MemoMaxEntries), options.MemoMaxEntries, Name(nameof(options.MemoMaxEntries)));
        options.MemoMaxBytes = ReadLong(section, nameof(options.MemoMaxBytes), options.MemoMaxBytes, Name(nameof(options.MemoMaxBytes)));
        options.MemoMaxEntryBytes = ReadLong(section, nameof(options.MemoMaxEntryBytes), options.MemoMaxEntryBytes, Name(nameof(options.MemoMaxEntryBytes)));
        ReplaceList(section, nameof(options.VaryByHeaders), options.VaryByHeaders, static v => v);
        ReplaceList(section, nameof(options.IdentityHeaders), options.IdentityHeaders, static v => v);
        ReplaceList(section, nameof(options.IgnoredInputs), options.IgnoredInputs, static v => v);

        foreach (var policy in section.GetSection("Policies").GetChildren())
        {
            options.AddPolicy(policy.Key, BuildPolicy(policy));
        }

        IdempotencyOptionsBinder.Bind(section, options);
    }

    private static string Name(string property) => $"{Options}.{property}";

    /// <summary>Builds a named policy from its section; a bad value fails with its configuration path.</summary>
    private static CoalescingPolicy BuildPolicy(IConfigurationSection section)
    {
        var option = $"the coalescing policy '{section.Key}'";
        var builder = new CoalescingPolicyBuilder();
        var key = "";
        try
        {
            key = nameof(CoalesceAttribute.MemoizeSeconds);
            if (section[key] is not null && ReadInt(section, key, 0, option) is var seconds and not 0)
            {
                builder.Memoize(TimeSpan.FromSeconds(seconds));
            }

            key = nameof(CoalesceAttribute.StaleWhileRevalidateSeconds);
            if (section[key] is not null && ReadInt(section, key, 0, option) is var revalidate and not 0)
            {
                builder.StaleWhileRevalidate(TimeSpan.FromSeconds(revalidate));
            }

            key = nameof(CoalesceAttribute.StaleIfErrorSeconds);
            if (section[key] is not null && ReadInt(section, key, 0, option) is var ifError and not 0)
            {
                builder.StaleIfError(TimeSpan.FromSeconds(ifError));
            }

            key = nameof(CoalesceAttribute.VaryByQuery);
            if (ReadList(section, key) is { } query)
            {
                builder.VaryByQuery([.. query]);
            }

            key = nameof(CoalesceAttribute.VaryByHeader);
            if (ReadList(section, key) is { } headers)
            {
                builder.VaryByHeader([.. headers]);
            }

            key = VaryByRouteValueKey;
            if (ReadList(section, key) is { } routeValues)
            {
                builder.VaryByRouteValue([.. routeValues]);
            }

            key = VaryByIdentityKey;
            if (section[key] is not null)
            {
                builder.VaryByIdentity(ReadBool(section, key, true, option));
            }

            key = nameof(CoalesceAttribute.Tags);
            if (ReadList(section, key) is { } tags)
            {
                builder.Tag([.. tags]);
            }

            key = nameof(CoalesceAttribute.WaitTimeoutMilliseconds);
            if (section[key] is not null && ReadInt(section, key, 0, option) is not 0)
            {
                builder.WaitTimeout(TimeSpan.FromMilliseconds(ReadInt(section, key, 0, option)));
            }

            key = "";
            foreach (var child in section.GetChildren())
            {
                if (!KnownPolicyKeys.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                {
                    key = child.Key;
                    throw new ArgumentException($"'{child.Key}' is not a setting of a coalescing policy; use {string.Join(", ", KnownPolicyKeys)}.");
                }
            }
        }
        catch (ArgumentException ex)
        {
            throw new InvalidOperationException($"Configuration value '{PathOf(section, key)}' is not valid for {option}: {ex.Message}", ex);
        }

        try
        {
            return builder.Build();
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"Configuration section '{section.Path}' is not valid for {option}: {ex.Message}", ex);
        }
    }

    private static readonly string[] KnownPolicyKeys =
    [
        nameof(CoalesceAttribute.MemoizeSeconds), nameof(CoalesceAttribute.StaleWhileRevalidateSeconds), nameof(CoalesceAttribute.StaleIfErrorSeconds),
        nameof(CoalesceAttribute.VaryByQuery), nameof(CoalesceAttribute.VaryByHeader),
        VaryByRouteValueKey, VaryByIdentityKey, nameof(CoalesceAttribute.Tags),
        nameof(CoalesceAttribute.WaitTimeoutMilliseconds),
    ];
}
