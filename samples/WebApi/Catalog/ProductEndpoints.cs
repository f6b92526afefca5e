namespace WebApi.Catalog;

/// <summary>
/// <c>/products</c>: reads are coalesced and memoized with tags, writes evict exactly what they change.
/// </summary>
/// <remarks>
/// Tags: every list response carries <c>products</c>; every single-product response carries <c>product:{id}</c>.
/// <c>POST</c> can only change lists, so it evicts <c>products</c>; <c>PUT /products/{id}</c> changes the lists
/// and that one product, so it evicts both. Evictions happen once the write succeeds and before its response is
/// sent, so a client that sees the 2xx reads fresh data at once.
/// </remarks>
internal static class ProductEndpoints
{
    public const string ListTag = "products";
    public const string ItemTag = "product:{id}";
    public static readonly TimeSpan MemoizeFor = TimeSpan.FromSeconds(30);

    /// <summary>Past its 30 s, a read is answered stale for a minute while one background query refreshes it.</summary>
    public static readonly TimeSpan RevalidateFor = TimeSpan.FromMinutes(1);

    /// <summary>When the database fails, reads rendered within the last hour stand in for the error.</summary>
    public static readonly TimeSpan ServeOnErrorFor = TimeSpan.FromHours(1);

    public static RouteGroupBuilder MapProducts(this IEndpointRouteBuilder endpoints)
    {
        var products = endpoints.MapGroup("/products");

        products.MapGet("/{id:int}", GetAsync)
            .WithName("GetProduct")
            .WithCoalescing(p => p.Memoize(MemoizeFor).Tag(ItemTag).StaleWhileRevalidate(RevalidateFor).StaleIfError(ServeOnErrorFor));

        products.MapGet("/", ListAsync)
            .WithCoalescing(p => p.Memoize(MemoizeFor).Tag(ListTag).VaryByQuery("category").StaleWhileRevalidate(RevalidateFor).StaleIfError(ServeOnErrorFor));

        products.MapPost("/", CreateAsync)
            .InvalidatesTags(ListTag);

        products.MapPut("/{id:int}", UpdateAsync)
            .InvalidatesTags(ListTag, ItemTag);

        return products;
    }

    private static async Task<IResult> GetAsync(int id, ProductStore store, CancellationToken cancellationToken) =>
        await store.FindAsync(id, cancellationToken) is { } product
            ? TypedResults.Ok(product)
            : TypedResults.Problem($"There is no product {id}.", statusCode: StatusCodes.Status404NotFound);

    private static async Task<IResult> ListAsync(string? category, ProductStore store, CancellationToken cancellationToken)
    {
        if (category is { Length: > ProductInput.MaxCategoryLength })
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["category"] = [$"A category has at most {ProductInput.MaxCategoryLength} characters."],
            });
        }

        return TypedResults.Ok(await store.ListAsync(string.IsNullOrWhiteSpace(category) ? null : category, cancellationToken));
    }

    private static async Task<IResult> CreateAsync(ProductInput input, ProductStore store, CancellationToken cancellationToken)
    {
        var errors = input.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var product = await store.AddAsync(input, cancellationToken);
        return TypedResults.CreatedAtRoute(product, "GetProduct", new RouteValueDictionary { ["id"] = product.Id });
    }

    private static async Task<IResult> UpdateAsync(int id, ProductInput input, ProductStore store, CancellationToken cancellationToken)
    {
        var errors = input.Validate();
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        return await store.UpdateAsync(id, input, cancellationToken) is { } product
            ? TypedResults.Ok(product)
            : TypedResults.Problem($"There is no product {id}.", statusCode: StatusCodes.Status404NotFound);
    }
}
