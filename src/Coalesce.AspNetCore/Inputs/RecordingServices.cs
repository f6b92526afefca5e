using Microsoft.Extensions.DependencyInjection;

namespace Coalesce.AspNetCore;

/// <summary>
/// The request's services, with each resolution recorded by type: a scoped service a middleware in front of Coalesce
/// filled in (a "current tenant") and the endpoint resolves again is state derived in front, as an <c>Items</c> entry is.
/// </summary>
internal sealed class RecordingServices(IServiceProvider inner, RequestInputs inputs) : IServiceProvider, ISupportRequiredService, IKeyedServiceProvider
{
    public object? GetService(Type serviceType)
    {
        inputs.ServiceResolved(serviceType);
        return inner.GetService(serviceType);
    }

    public object GetRequiredService(Type serviceType)
    {
        inputs.ServiceResolved(serviceType);
        return inner is ISupportRequiredService required
            ? required.GetRequiredService(serviceType)
            : inner.GetService(serviceType) ?? throw new InvalidOperationException($"No service for type '{serviceType}' has been registered.");
    }

    public object? GetKeyedService(Type serviceType, object? serviceKey)
    {
        inputs.ServiceResolved(serviceType);
        return Keyed.GetKeyedService(serviceType, serviceKey);
    }

    public object GetRequiredKeyedService(Type serviceType, object? serviceKey)
    {
        inputs.ServiceResolved(serviceType);
        return Keyed.GetRequiredKeyedService(serviceType, serviceKey);
    }

    private IKeyedServiceProvider Keyed =>
        inner as IKeyedServiceProvider ?? throw new InvalidOperationException("This service provider doesn't support keyed services.");
}
