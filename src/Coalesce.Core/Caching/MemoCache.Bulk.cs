namespace Coalesce;

/// <summary>Several entries at once.</summary>
public sealed partial class MemoCache
{
    /// <summary>Reads several entries.</summary>
    /// <returns>One value per key, in order; <see langword="default"/> for a miss.</returns>
    public ValueTask<IReadOnlyList<T?>> GetManyAsync<T>(IEnumerable<string> keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ct.ThrowIfCancellationRequested();
        var values = new List<T?>();
        foreach (var key in keys)
        {
            values.Add(TryGet<T>(key, out var value) ? value : default);
        }

        return new ValueTask<IReadOnlyList<T?>>(values);
    }

    /// <summary>Stores several values with one time to live and one set of tags.</summary>
    public ValueTask SetManyAsync<T>(
        IEnumerable<KeyValuePair<string, T>> entries, TimeSpan? ttl = null, IEnumerable<string>? tags = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        ct.ThrowIfCancellationRequested();
        ValidateTtl(ttl);
        var tagArray = tags?.ToArray();
        foreach (var (key, value) in entries)
        {
            Store(key, value, ttl, tagArray);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Deletes several entries.</summary>
    /// <returns>How many live entries were deleted.</returns>
    public async ValueTask<int> DeleteManyAsync(IEnumerable<string> keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var deleted = 0;
        foreach (var key in keys)
        {
            if (await DeleteAsync(key, ct).ConfigureAwait(false))
            {
                deleted++;
            }
        }

        return deleted;
    }
}
