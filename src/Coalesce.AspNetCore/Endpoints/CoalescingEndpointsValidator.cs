using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Coalesce.AspNetCore;

/// <summary>
/// Checks every endpoint's coalescing settings when the app starts, the way
/// options are validated: an app whose tags name route values its routes do not have, or whose endpoints name
/// coalescing policies nobody added, fails to start with one message listing each endpoint and tag or policy,
/// instead of failing requests later. (Should an endpoint appear later, the middleware leaves a misconfigured one
/// alone and logs why; it never breaks the others.)
/// </summary>
internal sealed class CoalescingEndpointsValidator(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Runs once the app's request pipeline is built (which is when routing learns the app's endpoints), as part
    /// of starting: a failure here fails the start, and the app stops.
    /// </summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        if (services.GetService(typeof(EndpointDataSource)) is not EndpointDataSource endpoints)
        {
            return Task.CompletedTask;
        }

        var options = services.GetRequiredService<IOptions<RequestCoalescingOptions>>().Value;
        List<string>? failures = null;
        foreach (var endpoint in endpoints.Endpoints)
        {
            if (EndpointState.FindProblem(endpoint, options) is { } problem)
            {
                (failures ??= []).Add(problem);
            }
        }

        if (failures is not null)
        {
            throw new InvalidOperationException(
                $"Request coalescing is misconfigured on {failures.Count} endpoint(s):{Environment.NewLine}- " +
                string.Join(Environment.NewLine + "- ", failures));
        }

        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
