using System.Collections;

namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// The app instances a test started, stopped together when the test ends (<c>await using var nodes = …</c>) in the
/// order they started.
/// </summary>
internal sealed class Nodes<TNode>(TNode[] nodes) : IReadOnlyList<TNode>, IAsyncDisposable
    where TNode : class, IAsyncDisposable
{
    public int Count => nodes.Length;

    public TNode this[int index] => nodes[index];

    public IEnumerator<TNode> GetEnumerator() => ((IEnumerable<TNode>)nodes).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public ValueTask DisposeAsync() => new(nodes.DisposeAllAsync());
}
