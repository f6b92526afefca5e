using System.Diagnostics.CodeAnalysis;

namespace Coalesce;

/// <summary>
/// The checked form of <see cref="CacheEntryOptions"/> (and of a memoized function's <see cref="MemoizeOptions{TArg}"/>):
/// what a fetch stores its result with and how it may serve a stale entry. A struct, so a hit costs no allocation.
/// </summary>
/// <param name="Ttl">The time to live; <see langword="null"/> for the cache's default.</param>
/// <param name="Tags">Tags, without the cache's namespace.</param>
/// <param name="StaleWhileRevalidate">Zero for none.</param>
/// <param name="StaleIfError">Zero for none.</param>
/// <param name="SoftTimeout"><see langword="null"/> for none.</param>
internal readonly record struct EntrySettings(
    TimeSpan? Ttl, IReadOnlyList<string>? Tags, TimeSpan StaleWhileRevalidate, TimeSpan StaleIfError, TimeSpan? SoftTimeout)
{
    public bool HasWindows => StaleWhileRevalidate > TimeSpan.Zero || StaleIfError > TimeSpan.Zero;

    public static EntrySettings From(CacheEntryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Checked(
            options.Ttl, options.Tags, options.StaleWhileRevalidate, options.StaleIfError, options.SoftTimeout, nameof(CacheEntryOptions));
    }

    /// <summary>Checks each setting, naming it as <c>{owner}.{setting}</c> in the exception.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A time to live or soft timeout that is not positive, or a negative window.</exception>
    [SuppressMessage("Usage", "CA2208:Instantiate argument exceptions correctly", Justification = "The exception names the option the user set, as MemoCacheOptions does.")]
    public static EntrySettings Checked(
        TimeSpan? ttl, IReadOnlyList<string>? tags, TimeSpan? staleWhileRevalidate, TimeSpan? staleIfError, TimeSpan? softTimeout, string owner)
    {
        if (ttl is { } life && life <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(CacheEntryOptions.Ttl), life, $"{owner}.Ttl must be positive, or null for the cache's default.");
        }

        if (staleWhileRevalidate < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(CacheEntryOptions.StaleWhileRevalidate), staleWhileRevalidate, $"{owner}.StaleWhileRevalidate must be zero or positive, or null for none.");
        }

        if (staleIfError < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(CacheEntryOptions.StaleIfError), staleIfError, $"{owner}.StaleIfError must be zero or positive, or null for none.");
        }

        if (softTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(CacheEntryOptions.SoftTimeout), softTimeout, $"{owner}.SoftTimeout must be positive, or null for none.");
        }

        return new EntrySettings(ttl, tags, staleWhileRevalidate ?? TimeSpan.Zero, staleIfError ?? TimeSpan.Zero, softTimeout);
    }
}
