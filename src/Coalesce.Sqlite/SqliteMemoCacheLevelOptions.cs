namespace Coalesce.Sqlite;

/// <summary>Settings for a <see cref="SqliteMemoCacheLevel"/>. Checked when the level is created.</summary>
/// <remarks>docs/configuration.md in the repository has every option, its default, range and configuration key.</remarks>
public sealed class SqliteMemoCacheLevelOptions
{
    /// <summary>The database file; created with its tables when missing. Required.</summary>
    /// <remarks>See docs/configuration.md in the repository.</remarks>
    public string? Path { get; set; }

    /// <summary>The largest payload kept, in bytes; a larger value stays in memory only. Default 1 MiB; at least 1.</summary>
    /// <remarks>See docs/configuration.md in the repository.</remarks>
    public int MaxEntryBytes { get; set; } = 1 << 20;

    /// <summary>
    /// How many invalidations are remembered to refuse the writes of fetches that began before them; a write from a
    /// fetch that began before the oldest one remembered is refused too. Default 10,000; at least 1.
    /// </summary>
    /// <remarks>See docs/configuration.md in the repository.</remarks>
    public int InvalidationMemory { get; set; } = 10_000;

    /// <summary>
    /// The clock of expiry. Default <see cref="TimeProvider.System"/>. Lifetimes follow the wall clock here (unlike
    /// <see cref="MemoCache"/>'s monotonic one), since they must survive a restart.
    /// </summary>
    /// <remarks>See docs/configuration.md in the repository.</remarks>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where failures of the database are logged. Default <see langword="null"/>: not logged.</summary>
    /// <remarks>See docs/configuration.md in the repository.</remarks>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; set; }

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException($"{nameof(SqliteMemoCacheLevelOptions)}.{nameof(Path)} must name the database file.", nameof(Path));
        }

        if (MaxEntryBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxEntryBytes), MaxEntryBytes, $"{nameof(SqliteMemoCacheLevelOptions)}.{nameof(MaxEntryBytes)} must be at least 1.");
        }

        if (InvalidationMemory < 1)
        {
            throw new ArgumentOutOfRangeException(
                nameof(InvalidationMemory), InvalidationMemory, $"{nameof(SqliteMemoCacheLevelOptions)}.{nameof(InvalidationMemory)} must be at least 1.");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentNullException(nameof(TimeProvider), $"{nameof(SqliteMemoCacheLevelOptions)}.{nameof(TimeProvider)} must not be null.");
        }
    }
}
