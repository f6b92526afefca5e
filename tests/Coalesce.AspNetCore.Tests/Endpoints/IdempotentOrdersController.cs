using Microsoft.AspNetCore.Mvc;

namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>An MVC controller with an <c>[Idempotent]</c> action (inline settings only: other tests' apps load every controller).</summary>
[ApiController]
[Route("mvc/idempotent-orders")]
public sealed class IdempotentOrdersController : ControllerBase
{
    private static int s_runs;

    public static int Runs => Volatile.Read(ref s_runs);

    public sealed record Order(string Sku, int Quantity);

    [HttpPost]
    [Idempotent(RequireKey = true)]
    public IActionResult Place(Order order) =>
        Created($"/mvc/idempotent-orders/{Interlocked.Increment(ref s_runs)}", new { order.Sku, order.Quantity, Id = Guid.NewGuid() });

    [HttpGet]
    public string List() => $"orders {Runs}";
}
