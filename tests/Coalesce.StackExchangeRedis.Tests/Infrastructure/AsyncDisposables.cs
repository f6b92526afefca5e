namespace Coalesce.StackExchangeRedis.Tests;

internal static class AsyncDisposables
{
    /// <summary>Disposes every instance started (nulls skipped), each even when another's disposal fails.</summary>
    public static async Task DisposeAllAsync<TNode>(this IEnumerable<TNode?> nodes)
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
