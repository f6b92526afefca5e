using Coalesce.AspNetCore;

namespace WebApi.Orders;

/// <summary>
/// <c>POST /orders</c>: placing an order is a write a client must be able to retry. It requires an
/// <c>Idempotency-Key</c>; a retry of a placed order gets the same 201 (with <c>Idempotent-Replayed: true</c>) instead of
/// a second order, a retry while the first still runs waits for it, and the same key with another order gets 422.
/// </summary>
internal static class OrderEndpoints
{
    private static int s_nextId;

    public static IEndpointRouteBuilder MapOrders(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/orders", PlaceAsync)
            .WithIdempotency(p => p.RequireKey().WaitForDuplicates().KeepFor(TimeSpan.FromHours(24)));
        return endpoints;
    }

    private static async Task<IResult> PlaceAsync(OrderInput order, CancellationToken cancellationToken)
    {
        if (order.Quantity is < 1 or > 100)
        {
            // A 4xx is kept too: the same request would be refused again.
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["quantity"] = ["Order 1 to 100."] });
        }

        // Charging the card and reserving stock: slow, and must happen once.
        await Task.Delay(200, cancellationToken);
        var placed = new PlacedOrder(Interlocked.Increment(ref s_nextId), order.ProductId, order.Quantity);
        return TypedResults.Created($"/orders/{placed.Id}", placed);
    }
}

/// <summary>What a client orders.</summary>
internal sealed record OrderInput(int ProductId, int Quantity);

/// <summary>A placed order.</summary>
internal sealed record PlacedOrder(int Id, int ProductId, int Quantity);
