namespace Coalesce;

/// <summary>
/// Where a memoized function keeps its results: the key of each argument (<c>memo:{name}:{argument key}</c>),
/// the tag every result carries so one function's results can be cleared together, and their TTL. Shared by the
/// async and sync wrappers.
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
        Tags = [FunctionTag, .. options.Tags ?? []];
        Ttl = options.Ttl;
    }

    public string FunctionTag { get; }

    public string[] Tags { get; }

    public TimeSpan? Ttl { get; }

    public string KeyOf(TArg argument) => _keyPrefix + _keyOf(argument);
}
