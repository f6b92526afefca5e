namespace Coalesce.StackExchangeRedis.Tests;

/// <summary>
/// Three app instances on one redis-server, each through its own <see cref="FaultProxy"/>, with the production
/// budgets (reads 50 ms, invalidation 250 ms, acknowledgements 3 s) and the fast test heartbeat. Disposing stops the
/// instances, then the proxies, then the server, also when the test failed.
/// </summary>
internal sealed class FaultCluster : IAsyncDisposable
{
    private FaultCluster(RedisServerFixture redis, FaultProxy[] proxies, WebNode[] nodes, Catalog catalog)
    {
        Redis = redis;
        Proxies = proxies;
        Nodes = nodes;
        Catalog = catalog;
    }

    public RedisServerFixture Redis { get; }

    public FaultProxy[] Proxies { get; }

    public WebNode[] Nodes { get; }

    public Catalog Catalog { get; }

    public static void ProductionBudgets(RedisCoalescingOptions o)
    {
        o.ReadBudget = TimeSpan.FromMilliseconds(50);
        o.InvalidationBudget = TimeSpan.FromMilliseconds(250);
        o.AckTimeout = TimeSpan.FromSeconds(3);
    }

    public static async Task<FaultCluster> StartAsync(int count = 3, RedisServerFixture? redis = null, Action<RedisCoalescingOptions>? configure = null)
    {
        redis ??= await RedisServerFixture.StartAsync();
        var proxies = new FaultProxy[count];
        var nodes = new WebNode[count];
        var catalog = new Catalog();
        var cluster = new FaultCluster(redis, proxies, nodes, catalog);
        try
        {
            for (var i = 0; i < count; i++)
            {
                proxies[i] = FaultProxy.Start(redis.Port);
                nodes[i] = await WebNode.StartAsync(proxies[i].Configuration, catalog, o =>
                {
                    ProductionBudgets(o);
                    configure?.Invoke(o);
                });
            }

            foreach (var node in nodes)
            {
                await Eventually.TrueAsync(() => node.Bus.IsSynchronized, "the instance synchronized");
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The body an instance answers for a path now.</summary>
    public static async Task<string> ReadAsync(WebNode node, string path)
    {
        using var response = await node.GetAsync(path);
        return await response.Content.ReadAsStringAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Nodes.DisposeAllAsync();
        }
        finally
        {
            foreach (var proxy in Proxies)
            {
                if (proxy is not null)
                {
                    await proxy.DisposeAsync();
                }
            }

            await Redis.DisposeAsync();
        }
    }
}
