namespace Coalesce;

/// <summary>
/// The memory an entry holds, as counted against <see cref="MemoCacheOptions.MaxBytes"/> and reported in
/// <see cref="CacheStats.ApproximateBytes"/>: the store's own bookkeeping, the key, the tags and the value. Figures are
/// for a 64-bit runtime, where every object carries 16 bytes of header and sizes round up to 8.
/// </summary>
internal static class CacheSizing
{
    /// <summary>
    /// What every entry costs besides its key, tags and value: the store's entry record (80 B) and heap ticket (24 B),
    /// its node in the concurrent map (48 B) and bucket slot (8 B), and its places in the recency and expiry heaps
    /// (16 B each).
    /// </summary>
    public const long EntryOverhead = 192;

    /// <summary>An object's header and method-table pointer.</summary>
    public const long ObjectHeader = 16;

    /// <summary>An array's header: the object header and the length, padded.</summary>
    public const long ArrayHeader = 24;

    /// <summary>A key's slot in a tag's set in the tag index.</summary>
    private const long TagIndexSlot = 24;

    /// <summary>The whole entry: bookkeeping, key, tags and value.</summary>
    public static long Of(string key, object? value, string[]? tags) =>
        EntryOverhead + OfString(key) + OfTags(tags) + OfValue(value);

    /// <summary>A string object: header, length, UTF-16 characters and the terminator.</summary>
    public static long OfString(string text) => Align(ObjectHeader + sizeof(int) + (sizeof(char) * ((long)text.Length + 1)));

    /// <summary>
    /// A value: strings, byte arrays and byte memory by their real size; <see cref="ICacheSizeAware"/> values by what
    /// they report (negative counts as zero); anything else counts nothing, as its size cannot be known.
    /// </summary>
    public static long OfValue(object? value) => value switch
    {
        string text => OfString(text),
        byte[] bytes => OfArray(bytes.LongLength, 1),
        ReadOnlyMemory<byte> memory => OfObject(16) + OfArray(memory.Length, 1),
        Memory<byte> memory => OfObject(16) + OfArray(memory.Length, 1),
        ICacheSizeAware aware => Math.Max(0, aware.ApproximateSize),
        _ => 0,
    };

    /// <summary>An entry's tag array, its tag strings and its slots in the tag index.</summary>
    public static long OfTags(string[]? tags)
    {
        if (tags is null || tags.Length == 0)
        {
            return 0;
        }

        var size = OfArray(tags.Length, IntPtr.Size);
        foreach (var tag in tags)
        {
            size += OfString(tag) + TagIndexSlot;
        }

        return size;
    }

    /// <summary>An array of <paramref name="length"/> elements of <paramref name="elementSize"/> bytes each.</summary>
    public static long OfArray(long length, long elementSize) => Align(ArrayHeader + (length * elementSize));

    /// <summary>An object with <paramref name="fieldBytes"/> bytes of fields.</summary>
    public static long OfObject(long fieldBytes) => Align(ObjectHeader + fieldBytes);

    private static long Align(long size) => (size + 7) & ~7L;
}
