namespace WebApi.Catalog;

/// <summary>
/// Where the catalogue's rows live: in this process (<see cref="InMemoryCatalogData"/>), or, with
/// <c>--Coalesce:Redis=…</c>, in Redis (<see cref="RedisCatalogData"/>) where every instance sees the same rows.
/// </summary>
internal interface ICatalogData
{
    Task<Product?> FindAsync(int id);

    Task<IReadOnlyList<Product>> ListAsync();

    Task<Product> AddAsync(string name, string category, decimal price);

    /// <summary>Replaces an existing product; <see langword="null"/> when there is none with its id.</summary>
    Task<Product?> UpdateAsync(Product product);
}
