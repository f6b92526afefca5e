using System.Collections.Frozen;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// A request of Coalesce's own, equivalent to one a client made, for refreshing a stale response in the background:
/// same method, path, query and headers (so the same key, vary headers and identity), the same endpoint, route values
/// and user, but unconditional and unranged, with its own service scope, a response that goes nowhere, and a
/// cancellation token tied to the app's shutdown instead of to the client that triggered it.
/// </summary>
internal sealed class RefreshRequest : IAsyncDisposable
{
    private readonly AsyncServiceScope _scope;

    private RefreshRequest(HttpContext context, AsyncServiceScope scope)
    {
        Context = context;
        _scope = scope;
    }

    public HttpContext Context { get; }

    /// <summary>Copies what makes <paramref name="original"/> the request it is; call on the original's own thread.</summary>
    public static RefreshRequest From(HttpContext original, IServiceScopeFactory scopes, CancellationToken stopping)
    {
        var source = original.Request;
        var headers = new HeaderDictionary();
        foreach (var (name, values) in source.Headers)
        {
            if (!IsPerRequest(name))
            {
                headers[name] = values;
            }
        }

        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(new HttpRequestFeature
        {
            Protocol = source.Protocol,
            Method = source.Method,
            Scheme = source.Scheme,
            PathBase = source.PathBase.Value ?? string.Empty,
            Path = source.Path.Value ?? string.Empty,
            QueryString = source.QueryString.Value ?? string.Empty,
            RawTarget = original.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty,
            Headers = headers,
            Body = Stream.Null,
        });
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature { RequestAborted = stopping });
        features.Set<IHttpRequestIdentifierFeature>(new HttpRequestIdentifierFeature());
        var connection = original.Connection;
        features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            ConnectionId = connection.Id,
            RemoteIpAddress = connection.RemoteIpAddress,
            RemotePort = connection.RemotePort,
            LocalIpAddress = connection.LocalIpAddress,
            LocalPort = connection.LocalPort,
        });
        if (original.Features.Get<ITlsConnectionFeature>() is { } tls)
        {
            features.Set<ITlsConnectionFeature>(new TlsConnectionFeature { ClientCertificate = tls.ClientCertificate });
        }

        // Authentication ran before coalescing for the original request; the refresh acts for the same user.
        features.Set<IHttpAuthenticationFeature>(new HttpAuthenticationFeature { User = new ClaimsPrincipal(original.User) });
        var scope = scopes.CreateAsyncScope();
        features.Set<IServiceProvidersFeature>(new RequestServicesFeature(scope.ServiceProvider));

        var context = new DefaultHttpContext(features);
        context.SetEndpoint(original.GetEndpoint());
        context.Request.RouteValues = new RouteValueDictionary(source.RouteValues);

        // What middleware in front left for the endpoint (a tenant, say) is what the refresh's endpoint reads too, and
        // the refresh's inputs are recorded as a request's are, so its response is shared only as far as theirs allow.
        RequestInputs.Install(context);
        foreach (var (key, value) in original.Items)
        {
            context.Items[key] = value;
        }

        context.Features.GetRequiredFeature<RequestInputs>().Enter();
        var refresh = new RefreshRequest(context, scope);

        // Marks the request as a refresh: there is no client to hold a response back for, or to serve stale to.
        features.Set(refresh);
        return refresh;
    }

    public ValueTask DisposeAsync() => _scope.DisposeAsync();

    /// <summary>
    /// Headers that belong to the client's own exchange: its validators and range (a refresh renders the whole
    /// response), and connection-level headers.
    /// </summary>
    private static bool IsPerRequest(string name) => PerRequest.Contains(name);

    private static readonly FrozenSet<string> PerRequest = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        HeaderNames.Range, HeaderNames.IfRange, HeaderNames.IfMatch, HeaderNames.IfNoneMatch, HeaderNames.IfModifiedSince,
        HeaderNames.IfUnmodifiedSince, HeaderNames.ContentLength, HeaderNames.TransferEncoding, HeaderNames.Connection,
        HeaderNames.KeepAlive, HeaderNames.Upgrade, HeaderNames.TE);

    private sealed class RequestServicesFeature(IServiceProvider services) : IServiceProvidersFeature
    {
        public IServiceProvider RequestServices { get; set; } = services;
    }
}
