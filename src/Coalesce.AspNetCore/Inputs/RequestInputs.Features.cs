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
        get
        {
            var headers = _request.Headers;
            if (!ReferenceEquals(headers, _headersSeen))
            {
                _headersSeen = headers;
                _recordingHeaders = new RecordingHeaders(headers, this);
            }

            return _recordingHeaders!;
        }
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
        get
        {
            var items = ItemsFeature.Items;
            if (!ReferenceEquals(items, _itemsSeen))
            {
                _itemsSeen = items;
                _recordingItems = new RecordingItems(items, this);
            }

            return _recordingItems!;
        }
        set => ItemsFeature.Items = value;
    }

    IServiceProvider IServiceProvidersFeature.RequestServices
    {
        get
        {
            var services = _services!.RequestServices;
            if (!ReferenceEquals(services, _servicesSeen))
            {
                _servicesSeen = services;
                _recordingServices = new RecordingServices(services, this);
            }

            return _recordingServices!;
        }
        set => _services!.RequestServices = value;
    }

    /// <summary>The server's connection feature (one made here when the server has none).</summary>
    private IHttpConnectionFeature Connection => _connection ??= new HttpConnectionFeature();

    /// <summary>The items feature the recording view stands in front of (made here when the server has none yet).</summary>
    private IItemsFeature ItemsFeature => _items ??= new ItemsFeature();
}
