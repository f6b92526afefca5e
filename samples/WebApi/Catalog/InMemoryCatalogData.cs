using System.Collections.Concurrent;

namespace WebApi.Catalog;

/// <summary>The catalogue in this process's memory: each instance has its own (the sample without Redis).</summary>
internal sealed class InMemoryCatalogData : ICatalogData
{
    private readonly ConcurrentDictionary<int, Product> _products = new();
    private int _nextId;

    public InMemoryCatalogData()
    {
        foreach (var product in CatalogSeed.Products)
        {
            _products[product.Id] = product;
        }

        _nextId = CatalogSeed.Products.Count;
    }

    public Task<Product?> FindAsync(int id) => Task.FromResult(_products.GetValueOrDefault(id));

    public Task<IReadOnlyList<Product>> ListAsync() => Task.FromResult<IReadOnlyList<Product>>([.. _products.Values]);

    public Task<Product> AddAsync(string name, string category, decimal price)
    {
        var product = new Product(Interlocked.Increment(ref _nextId), name, category, price);
        _products[product.Id] = product;
        return Task.FromResult(product);
    }

    public Task<Product?> UpdateAsync(Product product)
    {
        while (_products.TryGetValue(product.Id, out var current))
        {
            if (_products.TryUpdate(product.Id, product, current))
            {
                return Task.FromResult<Product?>(product);
            }
        }

        return Task.FromResult<Product?>(null);
    }
}
