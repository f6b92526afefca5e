namespace WebApi.Catalog;

/// <summary>A product in the catalogue, as the API returns it.</summary>
internal sealed record Product(int Id, string Name, string Category, decimal Price);
