namespace Coalesce.AspNetCore;

/// <summary>The second level of an app without a scale-out package: it holds nothing and keeps nothing.</summary>
internal sealed class NullSecondLevelStore : ISecondLevelStore
{
    public static readonly NullSecondLevelStore Instance = new();

    private NullSecondLevelStore()
    {
    }

    public ValueTask<SecondLevelEntry?> TryGetAsync(string key, IReadOnlyCollection<string> tags, CancellationToken cancellationToken) => default;

    public ValueTask<SecondLevelWriteResult> TrySetAsync(
        string key, ReadOnlyMemory<byte> payload, TimeSpan timeToLive, IReadOnlyCollection<string> tags, long startSeq,
        CancellationToken cancellationToken) => ValueTask.FromResult(SecondLevelWriteResult.Unavailable);
}
