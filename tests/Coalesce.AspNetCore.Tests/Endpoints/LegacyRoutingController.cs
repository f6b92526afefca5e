using Microsoft.AspNetCore.Mvc;

namespace Coalesce.AspNetCore.Tests.Endpoints;

/// <summary>A controller an app on legacy MVC routing (<c>UseMvc</c>) reaches without an endpoint.</summary>
[ApiController]
[Route("legacy")]
public sealed class LegacyRoutingController : ControllerBase
{
    private static int s_runs;

    [HttpGet]
    public string Get() => $"legacy run {Interlocked.Increment(ref s_runs)}";
}
