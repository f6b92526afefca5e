using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;

namespace Coalesce;

// The second level (MemoCacheOptions.SecondLevel): asked by the leader of a fetch on a local miss, written after the
// fetch with the start marker it read before, never on the hit path, and never able to fail a caller.
public sealed partial class MemoCache
{
    private readonly IMemoCacheLevel? _secondLevel;
    private readonly ILogger _levelLogger;
    private long _levelHits;
    private long _levelMisses;
    private long _levelWrites;
    private long _levelSkips;

    /// <summary>
    /// As <see cref="GetOrFetchAsync{T}(string, Func{CancellationToken, Task{T}}, CacheEntryOptions, CancellationToken)"/>,
    /// and shares the value through <see cref="MemoCacheOptions.SecondLevel"/> (with other instances of the app, for the
    /// Redis level) as JSON written and read by <paramref name="typeInfo"/>:
    /// <list type="bullet">
    /// <item>A fresh entry in memory: the value, without asking the second level.</item>
    /// <item>A local miss: the one fetch that leads for the key asks the second level; a hit is read, kept in memory for
    /// the entry's remaining time to live there and returned to every waiting caller, without running
    /// <paramref name="fetcher"/>.</item>
    /// <item>A miss there too: <paramref name="fetcher"/> runs, its value is kept in memory and stored in the second level
    /// for its time to live, unless one of its tags was invalidated after the fetch began.</item>
    /// </list>
    /// A value too large for the level, one that does not serialize and a payload that does not read are logged and
    /// kept in memory only (or treated as a miss); the level being down is a miss. Without a second level this is a
    /// plain <c>GetOrFetchAsync</c>.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="fetcher">Produces the value on a miss in memory and in the second level; see the other overloads.</param>
    /// <param name="typeInfo">Source-generated JSON metadata of <typeparamref name="T"/> (from a <c>JsonSerializerContext</c>), so no reflection is needed.</param>
    /// <param name="options">Time to live (required for the value to reach the second level: its own or the cache's default), tags, windows and soft timeout; <see langword="null"/> for the defaults.</param>
    /// <param name="ct">Ends this caller's wait only.</param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range.</exception>
    /// <exception cref="InvalidOperationException">The entry, or a fetch in flight for the key, has another type.</exception>
    public ValueTask<T> GetOrFetchAsync<T>(
        string key, Func<CancellationToken, Task<T>> fetcher, JsonTypeInfo<T> typeInfo, CacheEntryOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(fetcher);
        ArgumentNullException.ThrowIfNull(typeInfo);
        var settings = options is null ? default : EntrySettings.From(options);
        ct.ThrowIfCancellationRequested();
        if (TryGetEntry<T>(key, out var cached, out var freshness) && freshness.IsFresh)
        {
            return new ValueTask<T>(cached);
        }

        return FetchOrServeStale(key, fetcher, settings, cached, freshness, ct, typeInfo);
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A level that throws must not stop the invalidation in memory.")]
    private void InvalidateSecondLevel(CacheInvalidation invalidation)
    {
        try
        {
            _secondLevel!.Invalidate(invalidation switch
            {
                { Key: { } key } => MemoCacheLevelInvalidation.ForKey(StoreKey(key)),
                { Tags: { } tags } => MemoCacheLevelInvalidation.ForTags(StoreTags(tags) ?? []),
                _ => MemoCacheLevelInvalidation.Everything,
            });
        }
        catch (Exception ex)
        {
            MemoCacheLog.SecondLevelFailed(_levelLogger, ex, Name, "invalidation");
        }
    }

    /// <summary>The leader's work with a second level: read it, else fetch, keep and share.</summary>
    private async Task<T> RunSharedFetchAsync<T>(Fetch<T> fetch, long since, CancellationToken token)
    {
        var level = _secondLevel!;
        var typeInfo = fetch.TypeInfo!;
        IReadOnlyCollection<string> tags = fetch.StoreTags ?? [];
        if (await ReadLevelAsync(level, fetch.StoreKey, tags, token).ConfigureAwait(false) is { } entry &&
            TryRead(entry, typeInfo, out var shared))
        {
            Interlocked.Increment(ref _levelHits);
            var ttl = fetch.Settings.Ttl ?? _defaultTtl;
            var settings = fetch.Settings with { Ttl = ttl is { } own && own < entry.RemainingTimeToLive ? own : entry.RemainingTimeToLive };
            StoreFetched(since, fetch.Key, fetch.StoreKey, shared, settings, fetch.StoreTags);
            return shared;
        }

        Interlocked.Increment(ref _levelMisses);
        var marker = await BeginLevelFetchAsync(level, token).ConfigureAwait(false);
        var value = await fetch.Fetcher(token).ConfigureAwait(false);
        StoreFetched(since, fetch.Key, fetch.StoreKey, value, fetch.Settings, fetch.StoreTags);
        await ShareAsync(level, fetch, value, since, marker, tags).ConfigureAwait(false);
        return value;
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A second level that throws is a miss: it must never cost a caller its value.")]
    private async ValueTask<MemoCacheLevelEntry?> ReadLevelAsync(IMemoCacheLevel level, string storeKey, IReadOnlyCollection<string> tags, CancellationToken token)
    {
        try
        {
            return await level.TryGetAsync(storeKey, tags, token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!token.IsCancellationRequested)
        {
            MemoCacheLog.SecondLevelFailed(_levelLogger, ex, Name, "read");
            return null;
        }
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A second level that throws is a miss: it must never cost a caller its value.")]
    private async ValueTask<long?> BeginLevelFetchAsync(IMemoCacheLevel level, CancellationToken token)
    {
        try
        {
            return await level.BeginFetchAsync(token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!token.IsCancellationRequested)
        {
            MemoCacheLog.SecondLevelFailed(_levelLogger, ex, Name, "start marker");
            return null;
        }
    }

    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "A payload that does not read is a miss, whatever a converter throws.")]
    private bool TryRead<T>(MemoCacheLevelEntry entry, JsonTypeInfo<T> typeInfo, [MaybeNullWhen(false)] out T value)
    {
        if (entry.RemainingTimeToLive <= TimeSpan.Zero || entry.Payload is null)
        {
            value = default;
            return false;
        }

        try
        {
            value = JsonSerializer.Deserialize(entry.Payload, typeInfo)!;
            return true;
        }
        catch (Exception ex)
        {
            MemoCacheLog.PayloadUnreadable(_levelLogger, Name, typeof(T).Name, entry.Payload.Length, ex.GetType().Name);
            value = default;
            return false;
        }
    }

    /// <summary>Stores a fetched value in the second level unless it is stale already, or cannot be.</summary>
    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Sharing is best effort: a converter or a level that throws keeps the value in memory only.")]
    private async Task ShareAsync<T>(IMemoCacheLevel level, Fetch<T> fetch, T value, long since, long? marker, IReadOnlyCollection<string> tags)
    {
        var ttl = fetch.Settings.Ttl ?? _defaultTtl;
        string? skipped = marker is null ? "the level gave no start marker"
            : ttl is null ? "the value has no time to live"
            : _invalidations.CoversSince(since, fetch.Key, fetch.Settings.Tags ?? []) ? "it was invalidated while fetched"
            : null;
        if (skipped is not null)
        {
            Skip(skipped);
            return;
        }

        byte[] payload;
        try
        {
            payload = JsonSerializer.SerializeToUtf8Bytes(value, fetch.TypeInfo!);
        }
        catch (Exception ex)
        {
            Skip("it does not serialize: " + ex.GetType().Name);
            return;
        }

        MemoCacheLevelWriteResult result;
        try
        {
            result = await level.TrySetAsync(fetch.StoreKey, payload, ttl!.Value, tags, marker!.Value, _disposing.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            MemoCacheLog.SecondLevelFailed(_levelLogger, ex, Name, "write");
            result = MemoCacheLevelWriteResult.Unavailable;
        }

        if (result == MemoCacheLevelWriteResult.Stored)
        {
            Interlocked.Increment(ref _levelWrites);
        }
        else
        {
            Skip(result switch
            {
                MemoCacheLevelWriteResult.TooLarge => $"its {payload.Length} bytes are more than the level takes",
                MemoCacheLevelWriteResult.Stale => "a tag was invalidated while it was fetched",
                _ => "the level is unavailable",
            });
        }

        void Skip(string reason)
        {
            Interlocked.Increment(ref _levelSkips);
            MemoCacheLog.NotShared(_levelLogger, Name, reason);
        }
    }
}
