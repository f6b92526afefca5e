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

    public ValueTask DisposeAsync() => new(Nodes.DisposeAllAsync(nodes));
}

internal static class Nodes
{
    /// <summary>Disposes every instance started (nulls skipped), each even when another's disposal fails.</summary>
    public static async Task DisposeAllAsync<TNode>(IEnumerable<TNode?> nodes)
        where TNode : class, IAsyncDisposable
    {
        List<Exception>? failures = null;
        foreach (var node in nodes)
        {
            try
            {
                if (node is not null)
                {
                    await node.DisposeAsync();
                }
            }
            catch (Exception ex)
            {
                (failures ??= []).Add(ex);
            }
        }

        if (failures is not null)
        {
            throw new AggregateException(failures);
        }
    }
}
