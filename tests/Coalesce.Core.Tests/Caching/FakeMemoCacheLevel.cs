using System.Collections.Concurrent;

namespace Coalesce.Tests.Caching;

/// <summary>
/// An in-memory <see cref="IMemoCacheLevel"/> shared by several caches (as processes share Redis): entries with an
/// expiry on the test's clock, tag stamps that a test bumps, and switches for the failures a level may show.
/// </summary>
internal sealed class FakeMemoCacheLevel(TimeProvider time) : IMemoCacheLevel
{
    private readonly ConcurrentDictionary<string, (byte[] Payload, DateTimeOffset Expires, string[] Tags, long Start)> _entries = new();
    private readonly ConcurrentDictionary<string, long> _tagStamps = new();
    private long _seq;
    private int _reads;
    private int _writes;

    public int Reads => Volatile.Read(ref _reads);

    public int Writes => Volatile.Read(ref _writes);

    public bool Throws { get; set; }

    public bool Down { get; set; }

    public int MaxPayload { get; set; } = int.MaxValue;

    public IReadOnlyDictionary<string, (byte[] Payload, DateTimeOffset Expires, string[] Tags, long Start)> Entries => _entries;

    public void Put(string key, byte[] payload, TimeSpan ttl, params string[] tags) =>
        _entries[key] = (payload, time.GetUtcNow() + ttl, tags, Interlocked.Read(ref _seq));

    /// <summary>As another instance's invalidation would: later reads and writes of entries with the tag are refused.</summary>
    public void InvalidateTag(string tag) => _tagStamps[tag] = Interlocked.Increment(ref _seq);

    public ValueTask<MemoCacheLevelEntry?> TryGetAsync(string key, IReadOnlyCollection<string> tags, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        Fail();
        if (Down || !_entries.TryGetValue(key, out var entry) || !entry.Tags.SequenceEqual(tags) ||
            entry.Tags.Any(t => _tagStamps.GetValueOrDefault(t) > entry.Start))
        {
            return new((MemoCacheLevelEntry?)null);
        }

        var remaining = entry.Expires - time.GetUtcNow();
        return new(remaining > TimeSpan.Zero ? new MemoCacheLevelEntry(entry.Payload, remaining) : null);
    }

    public List<MemoCacheLevelInvalidation> Invalidations { get; } = [];

    public void Invalidate(MemoCacheLevelInvalidation invalidation)
    {
        lock (Invalidations)
        {
            Invalidations.Add(invalidation);
        }
    }

    public ValueTask<long?> BeginFetchAsync(CancellationToken cancellationToken)
    {
        Fail();
        return new(Down ? null : Interlocked.Read(ref _seq));
    }

    public ValueTask<MemoCacheLevelWriteResult> TrySetAsync(
        string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, IReadOnlyCollection<string> tags, long startMarker, CancellationToken cancellationToken)
    {
        Fail();
        if (Down)
        {
            return new(MemoCacheLevelWriteResult.Unavailable);
        }

        if (payload.Length > MaxPayload)
        {
            return new(MemoCacheLevelWriteResult.TooLarge);
        }

        if (tags.Any(t => _tagStamps.GetValueOrDefault(t) > startMarker))
        {
            return new(MemoCacheLevelWriteResult.Stale);
        }

        Interlocked.Increment(ref _writes);
        _entries[key] = (payload.ToArray(), time.GetUtcNow() + timeToLive, [.. tags], startMarker);
        return new(MemoCacheLevelWriteResult.Stored);
    }

    private void Fail()
    {
        if (Throws)
        {
            throw new InvalidOperationException("the level is broken");
        }
    }
}
