namespace Coalesce;

/// <summary>
/// Implemented by values that know roughly how much memory they hold, so <see cref="CacheStats.ApproximateBytes"/>
/// can count them.
/// </summary>
public interface ICacheSizeAware
{
    /// <summary>The approximate size in bytes. Read once, when the value is stored.</summary>
    long ApproximateSize { get; }
}
