using System.Collections.Concurrent;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddRequestCoalescing();
builder.Services.AddSingleton<ProductStore>();

var app = builder.Build();
app.UseRequestCoalescing();                      // after routing (and authentication, when the app has it)

app.MapGet("/products/{id:int}", (int id, ProductStore store) => store.GetAsync(id))
   .WithCoalescing(p => p.Memoize(TimeSpan.FromSeconds(30)).Tag("products", "product:{id}"));
app.MapPut("/products/{id:int}", (int id, Product product, ProductStore store) => store.Save(id, product))
   .InvalidatesTags("product:{id}");             // evicted before the 2xx is sent
app.MapCoalescingStats();                        // GET /_coalesce/stats; add .RequireAuthorization() in production
app.Run();

public sealed record Product(string Name, decimal Price);

public sealed class ProductStore
{
    private readonly ConcurrentDictionary<int, Product> _products = new() { [1] = new("Widget", 9.99m) };

    public async Task<IResult> GetAsync(int id)
    {
        await Task.Delay(100);                   // a slow database: a thousand concurrent GETs run this once
        return _products.TryGetValue(id, out var product) ? Results.Ok(product) : Results.NotFound();
    }

    public IResult Save(int id, Product product)
    {
        _products[id] = product;
        return Results.NoContent();
    }
}
