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

    /// <summary>
    /// Sections other registrations read beside these options (<c>Coalesce:Redis</c> and <c>Coalesce:RedisOptions</c> as the
    /// sample uses them, <c>Coalesce:HttpClients:{name}</c>, <c>Coalesce:Dashboard</c>), so they are not reported as
    /// unknown keys.
    /// </summary>
    internal static readonly string[] NeighbourSections = ["Redis", "RedisOptions", "HttpClients", "Dashboard"];

    public static void Bind(IConfiguration configuration, RequestCoalescingOptions options)
    {
        var section = new OptionsSection(configuration, Options);
        options.CoalesceAllGetRequests = section.Bool(nameof(options.CoalesceAllGetRequests), options.CoalesceAllGetRequests);
        options.MaxBufferedBodyBytes = section.Long(nameof(options.MaxBufferedBodyBytes), options.MaxBufferedBodyBytes);
        options.MaxFollowerLagBytes = section.Long(nameof(options.MaxFollowerLagBytes), options.MaxFollowerLagBytes);
        options.WaitTimeout = section.Time(nameof(options.WaitTimeout), options.WaitTimeout);
        options.PassThroughDuration = section.Time(nameof(options.PassThroughDuration), options.PassThroughDuration);
        options.VaryByIdentity = section.Bool(nameof(options.VaryByIdentity), options.VaryByIdentity);
        options.EmitCacheStatus = section.Bool(nameof(options.EmitCacheStatus), options.EmitCacheStatus);
        options.MemoMaxEntries = section.Int(nameof(options.MemoMaxEntries), options.MemoMaxEntries);
        options.MemoMaxBytes = section.Long(nameof(options.MemoMaxBytes), options.MemoMaxBytes);
        options.MemoMaxEntryBytes = section.Long(nameof(options.MemoMaxEntryBytes), options.MemoMaxEntryBytes);
        section.List(nameof(options.VaryByHeaders), options.VaryByHeaders);
        section.List(nameof(options.IdentityHeaders), options.IdentityHeaders);
        section.List(nameof(options.IgnoredInputs), options.IgnoredInputs);

        foreach (var policy in section.Child(PoliciesKey).GetChildren())
        {
            options.AddPolicy(policy.Key, BuildPolicy(policy));
        }

        IdempotencyOptionsBinder.Bind(section, options);
        section.RejectUnknownKeys(NeighbourSections);
    }

    private const string PoliciesKey = "Policies";

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
