using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Coalesce.Sqlite;

/// <summary>
/// A persistent <see cref="IMemoCacheLevel"/> in one SQLite file (opero's disk backend): memoized values survive a
/// restart of the process, and processes of one machine that point at the same file share them. Attach it with
/// <see cref="MemoCacheOptions.SecondLevel"/>; values reach it through the calls that give a <c>JsonTypeInfo&lt;T&gt;</c>.
/// </summary>
/// <remarks>
/// <para>
/// The cache's invalidations are applied here before its own entries go: a key or a delete removes that key, tags
/// remove the entries carrying them, a pattern or a clear removes everything (a database cannot match the cache's
/// glob patterns, so this is coarse but never stale). Each one also stamps what it covered with a sequence number,
/// and a write from a fetch that began before a stamp covering it is refused, so a value read before an invalidation
/// is never stored, even by another process.
/// </para>
/// <para>
/// Calls run synchronously on the caller's thread (a local file). A database error is logged and is a miss, never an
/// exception; an invalidation that cannot be recorded makes every later read a miss, since the level can no longer
/// prove an entry fresh.
/// </para>
/// </remarks>
public sealed class SqliteMemoCacheLevel : IMemoCacheLevel, IDisposable
{
    private const string SeqName = "#seq";
    private const string PrunedName = "#pruned";
    private const int SweepEvery = 64;

    private const string Schema = """
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, tags TEXT NOT NULL, payload BLOB NOT NULL, expires INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS entry_tags (tag TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (tag, key)) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS entry_tags_by_key ON entry_tags (key);
        CREATE TABLE IF NOT EXISTS stamps (name TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS stamps_by_seq ON stamps (seq);
        """;

    private readonly string _connectionString;
    private readonly SqliteMemoCacheLevelOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _writes;
    private volatile bool _untrusted;

    /// <summary>Opens (or creates) the database.</summary>
    /// <param name="options">Settings; <see cref="SqliteMemoCacheLevelOptions.Path"/> is required.</param>
    /// <exception cref="ArgumentException">An option is out of its range.</exception>
    /// <exception cref="SqliteException">The file cannot be opened or is not a database: a clear error at start-up.</exception>
    public SqliteMemoCacheLevel(SqliteMemoCacheLevelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger<SqliteMemoCacheLevel>() ?? NullLogger<SqliteMemoCacheLevel>.Instance;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = options.Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 5,
        }.ToString();
        using var connection = Open();
        Execute(connection, null, Schema);
    }

    /// <inheritdoc />
    public ValueTask<MemoCacheLevelEntry?> TryGetAsync(string key, IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(tags);
        if (_untrusted)
        {
            return default;
        }

        try
        {
            using var connection = Open();
            using var command = Command(connection, null, "SELECT tags, payload, expires FROM entries WHERE key = $key", ("$key", key));
            using var reader = command.ExecuteReader();
            if (!reader.Read() || reader.GetString(0) != EncodeTags(tags))
            {
                return default;
            }

            var remaining = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)) - _time.GetUtcNow();
            return remaining <= TimeSpan.Zero
                ? default
                : new ValueTask<MemoCacheLevelEntry?>(new MemoCacheLevelEntry((byte[])reader.GetValue(1), remaining));
        }
        catch (SqliteException ex)
        {
            SqliteLevelLog.Failed(_logger, ex, "read");
            return default;
        }
    }

    /// <inheritdoc />
    public ValueTask<long?> BeginFetchAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var connection = Open();
            return new ValueTask<long?>(Stamp(connection, null, SeqName));
        }
        catch (SqliteException ex)
        {
            SqliteLevelLog.Failed(_logger, ex, "read the invalidation seq");
            return new ValueTask<long?>((long?)null);
        }
    }

    /// <inheritdoc />
    public ValueTask<MemoCacheLevelWriteResult> TrySetAsync(
        string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, IReadOnlyCollection<string> tags, long startMarker, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(tags);
        if (payload.Length > _options.MaxEntryBytes)
        {
            return new(MemoCacheLevelWriteResult.TooLarge);
        }

        try
        {
            using var connection = Open();
            using var transaction = connection.BeginTransaction(deferred: false);
            if (startMarker < Stamp(connection, transaction, PrunedName) || InvalidatedSince(connection, transaction, key, tags, startMarker))
            {
                return new(MemoCacheLevelWriteResult.Stale);
            }

            var now = _time.GetUtcNow();
            var expires = (now + timeToLive).ToUnixTimeMilliseconds();
            Execute(connection, transaction, "DELETE FROM entry_tags WHERE key = $key", ("$key", key));
            Execute(
                connection,
                transaction,
                "INSERT OR REPLACE INTO entries (key, tags, payload, expires) VALUES ($key, $tags, $payload, $expires)",
                ("$key", key),
                ("$tags", EncodeTags(tags)),
                ("$payload", payload.ToArray()),
                ("$expires", expires));
            foreach (var tag in tags.Distinct(StringComparer.Ordinal))
            {
                Execute(connection, transaction, "INSERT INTO entry_tags (tag, key) VALUES ($tag, $key)", ("$tag", tag), ("$key", key));
            }

            if (Interlocked.Increment(ref _writes) % SweepEvery == 0)
            {
                var cutoff = now.ToUnixTimeMilliseconds();
                Execute(connection, transaction, "DELETE FROM entry_tags WHERE key IN (SELECT key FROM entries WHERE expires <= $now)", ("$now", cutoff));
                Execute(connection, transaction, "DELETE FROM entries WHERE expires <= $now", ("$now", cutoff));
            }

            transaction.Commit();
            return new(MemoCacheLevelWriteResult.Stored);
        }
        catch (SqliteException ex)
        {
            SqliteLevelLog.Failed(_logger, ex, "write");
            return new(MemoCacheLevelWriteResult.Unavailable);
        }
    }

    /// <inheritdoc />
    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Any failure to record an invalidation must stop reads, not the cache's own invalidation.")]
    public void Invalidate(MemoCacheLevelInvalidation invalidation)
    {
        ArgumentNullException.ThrowIfNull(invalidation);
        try
        {
            using var connection = Open();
            using var transaction = connection.BeginTransaction(deferred: false);
            var seq = Stamp(connection, transaction, SeqName) + 1;
            SetStamp(connection, transaction, SeqName, seq);
            if (invalidation.Key is { } key)
            {
                Execute(connection, transaction, "DELETE FROM entries WHERE key = $key", ("$key", key));
                Execute(connection, transaction, "DELETE FROM entry_tags WHERE key = $key", ("$key", key));
                SetStamp(connection, transaction, "k:" + key, seq);
            }
            else if (invalidation.Tags is { } tags)
            {
                foreach (var tag in tags)
                {
                    Execute(connection, transaction, "DELETE FROM entries WHERE key IN (SELECT key FROM entry_tags WHERE tag = $tag)", ("$tag", tag));
                    Execute(connection, transaction, "DELETE FROM entry_tags WHERE key IN (SELECT key FROM entry_tags WHERE tag = $tag)", ("$tag", tag));
                    SetStamp(connection, transaction, "t:" + tag, seq);
                }
            }
            else
            {
                Execute(connection, transaction, "DELETE FROM entries; DELETE FROM entry_tags;");
                SetStamp(connection, transaction, "*", seq);
            }

            // Bounded memory of stamps: a write from before the oldest one kept is refused as a whole.
            var pruned = seq - _options.InvalidationMemory;
            if (pruned > 0)
            {
                Execute(connection, transaction, "DELETE FROM stamps WHERE seq <= $pruned AND name NOT LIKE '#%'", ("$pruned", pruned));
                SetStamp(connection, transaction, PrunedName, pruned);
            }

            transaction.Commit();
        }
        catch (Exception ex)
        {
            _untrusted = true;
            SqliteLevelLog.InvalidationLost(_logger, ex);
        }
    }

    /// <summary>Releases the pooled connections to the file (so it can be moved or deleted).</summary>
    public void Dispose()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
    }

    /// <summary>The canonical form of a tag set: sorted, each as <c>length:tag</c>, so any character is allowed.</summary>
    private static string EncodeTags(IEnumerable<string> tags)
    {
        var builder = new StringBuilder();
        foreach (var tag in tags.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            builder.Append(tag.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(tag);
        }

        return builder.ToString();
    }

    private static bool InvalidatedSince(SqliteConnection connection, SqliteTransaction transaction, string key, IReadOnlyCollection<string> tags, long startMarker)
    {
        if (Stamp(connection, transaction, "*") > startMarker || Stamp(connection, transaction, "k:" + key) > startMarker)
        {
            return true;
        }

        foreach (var tag in tags)
        {
            if (Stamp(connection, transaction, "t:" + tag) > startMarker)
            {
                return true;
            }
        }

        return false;
    }

    private static long Stamp(SqliteConnection connection, SqliteTransaction? transaction, string name)
    {
        using var command = Command(connection, transaction, "SELECT seq FROM stamps WHERE name = $name", ("$name", name));
        return command.ExecuteScalar() is long seq ? seq : 0;
    }

    private static void SetStamp(SqliteConnection connection, SqliteTransaction transaction, string name, long seq) =>
        Execute(connection, transaction, "INSERT OR REPLACE INTO stamps (name, seq) VALUES ($name, $seq)", ("$name", name), ("$seq", seq));

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = Command(connection, transaction, sql, parameters);
        command.ExecuteNonQuery();
    }

    [SuppressMessage("Security", "CA2100:Review SQL queries for security vulnerabilities", Justification = "Every statement is a constant of this class; values are parameters.")]
    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }
}
