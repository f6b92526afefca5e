namespace WebApi.Catalog;

/// <summary>
/// The sample's "database": products (in this process, or in Redis with <c>--Coalesce:Redis=…</c>:
/// <see cref="ICatalogData"/>) behind a deliberately slow call (<c>Catalog:LatencyMs</c>,
/// default 50 ms), so coalescing and memoization have something to save. Thread-safe, and it counts every
/// query it answers so you (and the tests) can see how many reached it. Switch it off with
/// <c>Catalog:DatabaseOnline=false</c> (read on every query, so editing <c>appsettings.json</c> while the app runs works):
/// every query then fails after its latency, as a database that went away would.
/// </summary>
internal sealed class ProductStore
{
    public const int DefaultLatencyMs = 50;

    public const string OnlineKey = "Catalog:DatabaseOnline";

    private readonly ICatalogData _data;
    private readonly TimeSpan _latency;
    private readonly IConfiguration _configuration;
    private long _queries;

    public ProductStore(IConfiguration configuration, ICatalogData data)
    {
        _data = data;
        var latencyMs = configuration.GetValue("Catalog:LatencyMs", DefaultLatencyMs);
        if (latencyMs is < 0 or > 60_000)
        {
            throw new InvalidOperationException($"Catalog:LatencyMs must be between 0 and 60000; it is {latencyMs}.");
        }

        _latency = TimeSpan.FromMilliseconds(latencyMs);
        _configuration = configuration;
        _ = IsOnline();
    }

    /// <summary>How many queries (reads and writes) have reached the store.</summary>
    public long Queries => Interlocked.Read(ref _queries);

    public async Task<Product?> FindAsync(int id, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        return await _data.FindAsync(id);
    }

    public async Task<IReadOnlyList<Product>> ListAsync(string? category, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        return [.. (await _data.ListAsync())
            .Where(p => category is null || string.Equals(p.Category, category, StringComparison.OrdinalIgnoreCase))
            .OrderBy(p => p.Id)];
    }

    public async Task<Product> AddAsync(ProductInput input, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        return await _data.AddAsync(input.Name!.Trim(), input.Category!.Trim(), input.Price!.Value);
    }

    public async Task<Product?> UpdateAsync(int id, ProductInput input, CancellationToken cancellationToken)
    {
        await QueryAsync(cancellationToken);
        return await _data.UpdateAsync(new Product(id, input.Name!.Trim(), input.Category!.Trim(), input.Price!.Value));
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
}
