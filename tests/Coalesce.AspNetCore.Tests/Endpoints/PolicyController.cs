using Microsoft.AspNetCore.Mvc;

namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>An MVC controller whose action names the policy "reports" and whose write invalidates its report.</summary>
[ApiController]
[Route("mvc/reports/{id}")]
public sealed class PolicyController : ControllerBase
{
    private static int s_runs;

    public static int Runs { get => Volatile.Read(ref s_runs); set => Volatile.Write(ref s_runs, value); }

    [HttpGet]
    [Coalesce(PolicyName = "reports")]
    public string Get(string id) => $"report {id} run {Interlocked.Increment(ref s_runs)}";

    [HttpPost]
    [InvalidatesTags("report:{id}")]
    public IActionResult Post() => NoContent();
}
