using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>
/// The recording views themselves: one object stands in for the request, query, cookies, connection and items
/// features (a request pays one allocation for all of them), passing every call through to the server's feature and
/// recording the reads.
/// </summary>
internal sealed partial class RequestInputs :
    IHttpRequestFeature, IQueryFeature, IRequestCookiesFeature, IHttpConnectionFeature, IItemsFeature, IServiceProvidersFeature
{
    private IServiceProvider? _servicesSeen;
    private RecordingServices? _recordingServices;
    private IHeaderDictionary? _headersSeen;
    private RecordingHeaders? _recordingHeaders;
    private IQueryCollection? _querySet;
    private RecordingQuery? _recordingQuery;
    private IRequestCookieCollection? _cookiesSet;
    private RecordingCookies? _recordingCookies;
    private IDictionary<object, object?>? _itemsSeen;
    private RecordingItems? _recordingItems;

    string IHttpRequestFeature.Protocol
    {
        get
        {
            Read(RequestInput.Protocol);
            return _request.Protocol;
        }
        set => _request.Protocol = value;
    }

    string IHttpRequestFeature.Scheme { get => _request.Scheme; set => _request.Scheme = value; }

    string IHttpRequestFeature.Method { get => _request.Method; set => _request.Method = value; }

    string IHttpRequestFeature.PathBase { get => _request.PathBase; set => _request.PathBase = value; }

    string IHttpRequestFeature.Path { get => _request.Path; set => _request.Path = value; }

    string IHttpRequestFeature.QueryString
    {
        get
        {
            Read(RequestInput.AllQuery);
            return _request.QueryString;
        }
        set => _request.QueryString = value;
    }

    string IHttpRequestFeature.RawTarget { get => _request.RawTarget; set => _request.RawTarget = value; }

    IHeaderDictionary IHttpRequestFeature.Headers
    {
        get => ViewOf(_request.Headers, ref _headersSeen, ref _recordingHeaders, static (headers, inputs) => new RecordingHeaders(headers, inputs));
        set => _request.Headers = value;
    }

    Stream IHttpRequestFeature.Body { get => _request.Body; set => _request.Body = value; }

    IQueryCollection IQueryFeature.Query
    {
        get => _querySet ?? (_recordingQuery ??= new RecordingQuery(this));
        set => _querySet = value;
    }

    IRequestCookieCollection IRequestCookiesFeature.Cookies
    {
        get => _cookiesSet ?? (_recordingCookies ??= new RecordingCookies(this));
        set => _cookiesSet = value;
    }

    string IHttpConnectionFeature.ConnectionId { get => Connection.ConnectionId; set => Connection.ConnectionId = value; }

    IPAddress? IHttpConnectionFeature.RemoteIpAddress
    {
        get
        {
            Read(RequestInput.RemoteAddress);
            return Connection.RemoteIpAddress;
        }
        set => Connection.RemoteIpAddress = value;
    }

    IPAddress? IHttpConnectionFeature.LocalIpAddress { get => Connection.LocalIpAddress; set => Connection.LocalIpAddress = value; }

    int IHttpConnectionFeature.RemotePort
    {
        get
        {
            Read(RequestInput.RemotePort);
            return Connection.RemotePort;
        }
        set => Connection.RemotePort = value;
    }

    int IHttpConnectionFeature.LocalPort { get => Connection.LocalPort; set => Connection.LocalPort = value; }

    IDictionary<object, object?> IItemsFeature.Items
    {
        get => ViewOf(ItemsFeature.Items, ref _itemsSeen, ref _recordingItems, static (items, inputs) => new RecordingItems(items, inputs));
        set => ItemsFeature.Items = value;
    }

    IServiceProvider IServiceProvidersFeature.RequestServices
    {
        get => ViewOf(_services!.RequestServices, ref _servicesSeen, ref _recordingServices, static (services, inputs) => new RecordingServices(services, inputs));
        set => _services!.RequestServices = value;
    }

    /// <summary>
    /// The recording view over <paramref name="inner"/>: the one made for it before, or a new one when the server's
    /// object was replaced (an app may set the headers, the items or the services of a request).
    /// </summary>
    private TView ViewOf<TInner, TView>(TInner inner, ref TInner? seen, ref TView? view, Func<TInner, RequestInputs, TView> create)
        where TInner : class
        where TView : class
    {
        if (!ReferenceEquals(inner, seen))
        {
            seen = inner;
            view = create(inner, this);
        }

        return view!;
    }

    /// <summary>The server's connection feature (one made here when the server has none).</summary>
    private IHttpConnectionFeature Connection => _connection ??= new HttpConnectionFeature();

    /// <summary>The items feature the recording view stands in front of (made here when the server has none yet).</summary>
    private IItemsFeature ItemsFeature => _items ??= new ItemsFeature();
}
