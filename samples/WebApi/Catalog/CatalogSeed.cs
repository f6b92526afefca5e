namespace WebApi.Catalog;

/// <summary>The products every catalogue starts with, ids 1 to 8.</summary>
internal static class CatalogSeed
{
    public static readonly IReadOnlyList<Product> Products =
    [
        new(1, "The Pragmatic Programmer", "books", 39.95m),
        new(2, "Designing Data-Intensive Applications", "books", 44.50m),
        new(3, "Release It!", "books", 34.00m),
        new(4, "Chess set", "games", 25.00m),
        new(5, "Go board", "games", 60.00m),
        new(6, "Mechanical keyboard", "tools", 120.00m),
        new(7, "Soldering iron", "tools", 45.00m),
        new(8, "Multimeter", "tools", 30.00m),
    ];
}
