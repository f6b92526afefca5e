namespace Coalesce;

/// <summary>
/// Where a memoized function keeps its results: the key of each argument (<c>memo:{name}:{argument key}</c>),
/// the tag every result carries so one function's results can be cleared together, and how results are kept and
/// served stale. Shared by the async and sync wrappers.
/// </summary>
internal sealed class MemoizedEntries<TArg>
{
    private readonly Func<TArg, string> _keyOf;
    private readonly string _keyPrefix;

    public MemoizedEntries(MemoizeOptions<TArg> options, string name)
    {
        _keyOf = options.CreateKeyFunction();
        _keyPrefix = $"memo:{name}:";
        FunctionTag = $"memo:{name}";
        Settings = EntrySettings.Checked(
            options.Ttl,
            [FunctionTag, .. options.Tags ?? []],
            options.StaleWhileRevalidate,
            options.StaleIfError,
            options.SoftTimeout,
            nameof(MemoizeOptions<TArg>));
    }

    public string FunctionTag { get; }

    /// <summary>Time to live, tags (the function's own first) and stale windows of every result.</summary>
    public EntrySettings Settings { get; }

    public string KeyOf(TArg argument) => _keyPrefix + _keyOf(argument);
}
