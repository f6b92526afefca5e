using System.Text.Json;
using StackExchange.Redis;

namespace WebApi.Catalog;

/// <summary>
/// The catalogue in Redis, so every instance of the sample reads and writes the same rows: a HASH of product id to
/// JSON, and a counter for new ids, seeded once with <see cref="CatalogSeed"/> (only where missing, so a second
/// instance starting leaves the first one's writes alone). Shares the app's one multiplexer with Coalesce. A Redis
/// failure throws <see cref="CatalogUnavailableException"/>, answered 503, as when the in-memory database is off.
/// </summary>
internal sealed class RedisCatalogData(IConnectionMultiplexer redis) : ICatalogData, IDisposable
{
    private const string Products = "coalesce-sample:products";
    private const string NextId = "coalesce-sample:products:next-id";

    // Replaces a product only if it exists: 1 replaced, 0 none with that id.
    private const string UpdateScript = """
        if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
        redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
        return 1
        """;

    private readonly SemaphoreSlim _seeding = new(1, 1);
    private volatile bool _seeded;

    public async Task<Product?> FindAsync(int id)
    {
        var db = await DatabaseAsync();
        var json = await Call(db.HashGetAsync(Products, id));
        return json.IsNull ? null : Read(json);
    }

    public async Task<IReadOnlyList<Product>> ListAsync()
    {
        var db = await DatabaseAsync();
        return [.. (await Call(db.HashValuesAsync(Products))).Select(Read)];
    }

    public async Task<Product> AddAsync(string name, string category, decimal price)
    {
        var db = await DatabaseAsync();
        var product = new Product((int)await Call(db.StringIncrementAsync(NextId)), name, category, price);
        await Call(db.HashSetAsync(Products, product.Id, Write(product)));
        return product;
    }

    public async Task<Product?> UpdateAsync(Product product)
    {
        var db = await DatabaseAsync();
        var replaced = await Call(db.ScriptEvaluateAsync(UpdateScript, [Products], [product.Id, Write(product)]));
        return (long)replaced == 1 ? product : null;
    }

    public void Dispose() => _seeding.Dispose();

    private static Product Read(RedisValue json) => JsonSerializer.Deserialize((string)json!, SampleJsonContext.Default.Product)!;

    private static string Write(Product product) => JsonSerializer.Serialize(product, SampleJsonContext.Default.Product);

    private static async Task<T> Call<T>(Task<T> call)
    {
        try
        {
            return await call;
        }
        catch (RedisException ex)
        {
            throw new CatalogUnavailableException($"The catalogue in Redis is unreachable: {ex.Message}");
        }
    }

    private async Task<IDatabase> DatabaseAsync()
    {
        var db = redis.GetDatabase();
        if (_seeded)
        {
            return db;
        }

        await _seeding.WaitAsync();
        try
        {
            if (!_seeded)
            {
                foreach (var product in CatalogSeed.Products)
                {
                    await Call(db.HashSetAsync(Products, product.Id, Write(product), When.NotExists));
                }

                await Call(db.StringSetAsync(NextId, CatalogSeed.Products.Count, when: When.NotExists));
                _seeded = true;
            }
        }
        finally
        {
            _seeding.Release();
        }

        return db;
    }
}
