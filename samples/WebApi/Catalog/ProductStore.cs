using System.Collections.Concurrent;

namespace WebApi.Catalog;

/// <summary>
/// The sample's "database": products in memory behind a deliberately slow call (<c>Catalog:LatencyMs</c>,
/// default 50 ms), so coalescing and memoization have something to save. Thread-safe, and it counts every
/// query it answers so you (and the tests) can see how many reached it. Switch it off with
/// <c>Catalog:DatabaseOnline=false</c> (read on every query, so editing <c>appsettings.json</c> while the app runs works):
/// every query then fails after its latency, as a database that went away would.
/// </summary>
internal sealed class ProductStore
{
    public const int DefaultLatencyMs = 50;

    public const string OnlineKey = "Catalog:DatabaseOnline";

    private readonly ConcurrentDictionary<int, Product> _products = new();
    private readonly TimeSpan _latency;
    private readonly IConfiguration _configuration;
    private int _nextId;
    private long _queries;

    public ProductStore(IConfiguration configuration)
    {
        var latencyMs = configuration.GetValue("Catalog:LatencyMs", DefaultLatencyMs);
        if (latencyMs is < 0 or > 60_000)
        {
            throw new InvalidOperationException($"Catalog:LatencyMs must be between 0 and 60000; it is {latencyMs}.");
        }

        _latency = TimeSpan.FromMilliseconds(latencyMs);
        _configuration = configuration;
        _ = IsOnline();
        Seed();
    }

    /// <summary>How many queries (reads and writes) have reached the store.</summary>
    public long Queries => Interlocked.Read(ref _queries);

    public async Task<Product?> FindAsync(int id, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        return _products.GetValueOrDefault(id);
    }

    public async Task<IReadOnlyList<Product>> ListAsync(string? category, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        return [.. _products.Values
            .Where(p => category is null || string.Equals(p.Category, category, StringComparison.OrdinalIgnoreCase))
            .OrderBy(p => p.Id)];
    }

    public async Task<Product> AddAsync(ProductInput input, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        var product = new Product(Interlocked.Increment(ref _nextId), input.Name!.Trim(), input.Category!.Trim(), input.Price!.Value);
        _products[product.Id] = product;
        return product;
    }

    public async Task<Product?> UpdateAsync(int id, ProductInput input, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        var updated = new Product(id, input.Name!.Trim(), input.Category!.Trim(), input.Price!.Value);
        while (_products.TryGetValue(id, out var current))
        {
            if (_products.TryUpdate(id, updated, current))
            {
                return updated;
            }
        }

        return null;
    }

    private async Task QueryAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _queries);
        if (_latency > TimeSpan.Zero)
        {
            await Task.Delay(_latency, cancellationToken);
        }

        if (!IsOnline())
        {
            throw new CatalogUnavailableException($"The catalogue database is switched off ({OnlineKey}=false).");
        }
    }

    private bool IsOnline() =>
        _configuration[OnlineKey] is not { } value || (bool.TryParse(value, out var online)
            ? online
            : throw new InvalidOperationException($"{OnlineKey} must be true or false; it is '{value}'."));

    private void Seed()
    {
        (string Name, string Category, decimal Price)[] seed =
        [
            ("The Pragmatic Programmer", "books", 39.95m),
            ("Designing Data-Intensive Applications", "books", 44.50m),
            ("Release It!", "books", 34.00m),
            ("Chess set", "games", 25.00m),
            ("Go board", "games", 60.00m),
            ("Mechanical keyboard", "tools", 120.00m),
            ("Soldering iron", "tools", 45.00m),
            ("Multimeter", "tools", 30.00m),
        ];
        foreach (var (name, category, price) in seed)
        {
            var id = Interlocked.Increment(ref _nextId);
            _products[id] = new Product(id, name, category, price);
        }
    }
}
