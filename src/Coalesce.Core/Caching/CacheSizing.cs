namespace Coalesce;

/// <summary>The approximate memory an entry holds; see <see cref="CacheStats.ApproximateBytes"/>.</summary>
internal static class CacheSizing
{
    public static long Of(string key, object? value) => (sizeof(char) * (long)key.Length) + value switch
    {
        string text => sizeof(char) * (long)text.Length,
        byte[] bytes => bytes.LongLength,
        ReadOnlyMemory<byte> memory => memory.Length,
        Memory<byte> memory => memory.Length,
        ICacheSizeAware aware => Math.Max(0, aware.ApproximateSize),
        _ => 0,
    };
}
