using System.Collections.Frozen;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// What one request's pipeline read of the request, recorded by thin views over its header, query, cookie, connection
/// and items features, put in place at the very start of the pipeline (<see cref="InputRecordingStartupFilter"/>).
/// Names only are recorded; the values are read once, when a leader settles, and compared when another request would
/// share its response.
/// </summary>
/// <remarks>
/// <para>The rule (ARCHITECTURE.md, "Inputs"):</para>
/// <list type="number">
/// <item>Whatever the app reads while it runs for a leader (the endpoint, its filters and model binding, middleware
/// after Coalesce's) is an input.</item>
/// <item>What middleware in front of Coalesce's read counts through what it left behind for the endpoint: an
/// <c>HttpContext.Items</c> entry set in front that the endpoint reads is itself an input (its value compared, when it
/// is a string, number, bool, enum or Guid); one of any other value, or kept under a key that is not a string, makes
/// every input read in front count; so does a service of the app's own that was resolved in front and is resolved again
/// (a scoped "current tenant" a middleware filled in).</item>
/// <item>Per-hop, tracing and forwarding headers never count through middleware in front, nor does an enumeration of
/// all headers there (request logging): <c>UseForwardedHeaders</c>' result is the client's address, an input of its own.</item>
/// </list>
/// Coalesce's own reads (the key, eligibility, validators) are not recorded: recording pauses when the request reaches
/// Coalesce and resumes only while the endpoint runs for a leader.
/// </remarks>
internal sealed partial class RequestInputs
{
    /// <summary>
    /// Headers that differ between requests by design or describe the hop, not the request: never an input through an
    /// enumeration of all headers or through middleware in front (a direct read by the endpoint still counts).
    /// </summary>
    internal static readonly FrozenSet<string> PerHopHeaders = FrozenSet.Create(
        StringComparer.OrdinalIgnoreCase,
        "traceparent", "tracestate", "baggage", "Request-Id", "Correlation-Context",
        HeaderNames.Connection, HeaderNames.KeepAlive, "Proxy-Connection", HeaderNames.TE, HeaderNames.Trailer,
        HeaderNames.TransferEncoding, HeaderNames.Upgrade, HeaderNames.Via,
        "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "Forwarded",
        "X-Original-For", "X-Original-Proto", "X-Original-Host", "X-Original-Prefix");

    private readonly IHttpRequestFeature _request;
    private IHttpConnectionFeature? _connection;
    private IItemsFeature? _items;
    private IQueryCollection? _query;
    private IRequestCookieCollection? _cookies;
    private Phase _phase;
    private List<RequestInput>? _read;
    private List<RequestInput>? _readInFront;
    private List<object>? _itemsSetInFront;
    private List<Type>? _servicesResolvedInFront;
    private IServiceProvidersFeature? _services;
    private bool _usesStateSetInFront;

    private RequestInputs(IHttpRequestFeature request)
    {
        _request = request;
    }

    private enum Phase
    {
        /// <summary>Middleware in front of Coalesce runs.</summary>
        InFront,

        /// <summary>Coalesce itself, or anything after the leader's run: nothing is recorded.</summary>
        Paused,

        /// <summary>The endpoint runs for a leader.</summary>
        Recording,
    }

    /// <summary>The input for which this request was last refused another's response, for <c>Cache-Status</c> and logs.</summary>
    public RequestInput? Refused { get; set; }

    /// <summary>The request headers as sent, read without recording.</summary>
    public IHeaderDictionary Headers => _request.Headers;

    /// <summary>
    /// The recorder of <paramref name="context"/>'s request, if it has one. Found through the request feature it stands
    /// in for, which a server keeps in a field (Kestrel), before the feature collection's search for a type of its own.
    /// </summary>
    public static RequestInputs? Of(HttpContext context) =>
        context.Features.Find<IHttpRequestFeature>() as RequestInputs ?? context.Features.Find<RequestInputs>();

    /// <summary>
    /// The request headers for Coalesce's own reads (eligibility, validators, the key): the server's own dictionary, not
    /// the recording view. Nothing Coalesce reads is the app's input, and on Kestrel a typed property (<c>Range</c>,
    /// <c>Host</c>) stays a field read, where through the view it is a lookup by name.
    /// </summary>
    public static IHeaderDictionary UnrecordedHeaders(HttpContext context) =>
        context.Features.Find<IHttpRequestFeature>() is RequestInputs inputs ? inputs._request.Headers : context.Request.Headers;

    /// <summary>Puts the recording views in place over <paramref name="context"/>'s request features.</summary>
    public static void Install(HttpContext context)
    {
        var features = context.Features;
        var inputs = new RequestInputs(features.Require<IHttpRequestFeature>())
        {
            _connection = features.Find<IHttpConnectionFeature>(),
            _items = features.Find<IItemsFeature>(),
            _services = features.Find<IServiceProvidersFeature>() ??
                        (context is DefaultHttpContext { ServiceScopeFactory: { } scopes } ? new RequestServicesFeature(context, scopes) : null),
        };
        features.Replace(inputs);
        features.Replace<IHttpRequestFeature>(inputs);
        features.Replace<IQueryFeature>(inputs);
        features.Replace<IRequestCookiesFeature>(inputs);
        features.Replace<IHttpConnectionFeature>(inputs);
        features.Replace<IItemsFeature>(inputs);
        if (inputs._services is not null)
        {
            features.Replace<IServiceProvidersFeature>(inputs);
        }
    }

    /// <summary>The request reached Coalesce: what middleware in front read is settled, and recording pauses.</summary>
    public void Enter() => _phase = Phase.Paused;

    /// <summary>The endpoint starts running for a leader: what it reads from now on is recorded.</summary>
    public void StartRecording()
    {
        _read?.Clear();
        _usesStateSetInFront = false;
        _phase = Phase.Recording;
    }

    /// <summary>The leader's run ended: its inputs are what was recorded until now.</summary>
    public void StopRecording() => _phase = Phase.Paused;

    /// <summary>Records a read of <paramref name="input"/>.</summary>
    public void Read(RequestInput input)
    {
        switch (_phase)
        {
            case Phase.Recording:
                Add(ref _read, input);
                break;
            case Phase.InFront when input.Kind is not (InputKind.AllHeaders or InputKind.AllCookies) &&
                                    !(input.Kind == InputKind.Header && PerHopHeaders.Contains(input.Name)):
                Add(ref _readInFront, input);
                break;
        }
    }

    /// <summary>Records a read of header <paramref name="name"/>.</summary>
    public void ReadHeader(string name)
    {
        if (_phase != Phase.Paused)
        {
            Read(new RequestInput(InputKind.Header, name));
        }
    }

    /// <summary>An <c>Items</c> entry was set.</summary>
    public void ItemSet(object key)
    {
        if (_phase == Phase.InFront && !(_itemsSetInFront ??= []).Contains(key))
        {
            _itemsSetInFront.Add(key);
        }
    }

    /// <summary>An <c>Items</c> entry was read (<paramref name="value"/> is what the reader got).</summary>
    public void ItemRead(object key, object? value)
    {
        if (_phase != Phase.Recording || _itemsSetInFront is null || !_itemsSetInFront.Contains(key))
        {
            return;
        }

        if (key is string name && IsComparable(value))
        {
            Read(new RequestInput(InputKind.Item, name));
        }
        else
        {
            _usesStateSetInFront = true;
        }
    }

    /// <summary>
    /// A service was resolved from the request's services. The app's own types resolved in front and again while the
    /// endpoint runs are state derived in front (a scoped "current tenant" a middleware filled in): then what was read in
    /// front counts. The framework's types (<c>Microsoft.*</c>, <c>System.*</c>: options, loggers, clocks) are not.
    /// </summary>
    public void ServiceResolved(Type type)
    {
        if (_phase == Phase.Paused || IsFrameworkType(type))
        {
            return;
        }

        if (_phase == Phase.InFront)
        {
            if (!(_servicesResolvedInFront ??= []).Contains(type))
            {
                _servicesResolvedInFront.Add(type);
            }
        }
        else if (_servicesResolvedInFront is not null && _servicesResolvedInFront.Contains(type))
        {
            _usesStateSetInFront = true;
        }
    }

    private static bool IsFrameworkType(Type type) =>
        type.Namespace is { } space && (space.StartsWith("Microsoft.", StringComparison.Ordinal) || space.StartsWith("System", StringComparison.Ordinal));

    /// <summary>All <c>Items</c> entries were read.</summary>
    public void ItemsEnumerated()
    {
        if (_phase == Phase.Recording && _itemsSetInFront is { Count: > 0 })
        {
            _usesStateSetInFront = true;
        }
    }

    /// <summary>
    /// The leader's inputs that its endpoint's key does not hold (nor the app ignores), with the leader's values:
    /// what another request must have equal to share its response. <see langword="null"/> when there are none.
    /// </summary>
    public ObservedInputs? Collect(HttpContext context, EndpointState state)
    {
        List<RequestInput>? inputs = null;
        foreach (var input in (IEnumerable<RequestInput>?)_read ?? [])
        {
            if (!state.HoldsInput(input))
            {
                Add(ref inputs, input);
            }
        }

        if (_usesStateSetInFront)
        {
            foreach (var input in (IEnumerable<RequestInput>?)_readInFront ?? [])
            {
                if (!state.HoldsInput(input))
                {
                    Add(ref inputs, input);
                }
            }
        }

        if (inputs is null)
        {
            return null;
        }

        var observed = new ObservedInput[inputs.Count];
        for (var i = 0; i < observed.Length; i++)
        {
            observed[i] = new ObservedInput(inputs[i], ValueOf(context, this, inputs[i]));
        }

        return new ObservedInputs(observed);
    }

    /// <summary>The value of <paramref name="input"/> in <paramref name="context"/>'s request, read without recording.</summary>
    /// <param name="context">The request.</param>
    /// <param name="inputs">The request's recorder (its <see cref="RequestInputs"/> feature), if it has one.</param>
    /// <param name="input">The input to read.</param>
    public static StringValues ValueOf(HttpContext context, RequestInputs? inputs, RequestInput input)
    {
        var headers = inputs?.Headers ?? context.Request.Headers;
        switch (input.Kind)
        {
            case InputKind.Header:
                return headers[input.Name];
            case InputKind.Query:
                return (inputs?.InnerQuery ?? context.Request.Query)[input.Name];
            case InputKind.Cookie:
                return (inputs?.InnerCookies ?? context.Request.Cookies)[input.Name];
            case InputKind.RemoteAddress:
                return (inputs?.Connection ?? context.Features.Get<IHttpConnectionFeature>())?.RemoteIpAddress?.ToString();
            case InputKind.RemotePort:
                return ((inputs?.Connection ?? context.Features.Get<IHttpConnectionFeature>())?.RemotePort ?? 0).ToString(CultureInfo.InvariantCulture);
            case InputKind.Protocol:
                return (inputs?._request.Protocol) ?? context.Request.Protocol;
            case InputKind.Item:
                var items = inputs is not null ? inputs.ItemsFeature.Items : context.Items;
                return items.TryGetValue(input.Name, out var value) ? TextOf(value) : StringValues.Empty;
            case InputKind.AllHeaders:
                return AllHeaders(headers);
            case InputKind.AllQuery:
                return (inputs?._request.QueryString) ?? context.Request.QueryString.Value;
            case InputKind.AllCookies:
                return headers.Cookie;
            default:
                return StringValues.Empty;
        }
    }

    /// <summary>The query as sent, parsed without recording.</summary>
    internal IQueryCollection InnerQuery => _query ??= new QueryFeature(Unrecorded()).Query;

    /// <summary>The cookies as sent, parsed without recording.</summary>
    internal IRequestCookieCollection InnerCookies => _cookies ??= new RequestCookiesFeature(Unrecorded()).Cookies;

    private static bool IsComparable(object? value) =>
        value is null or string or bool or char or byte or sbyte or short or ushort or int or uint or long or ulong or
            float or double or decimal or Guid or Enum;

    private static string? TextOf(object? value) => value switch
    {
        null => null,
        string text => text,
        Enum e => e.GetType().FullName + "." + e.ToString(),
        IFormattable formattable when IsComparable(value) => formattable.ToString(null, CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        char c => c.ToString(),

        // Not comparable by value: never equal to another request's (its reads in front count instead).
        _ => "\0object",
    };

    private static StringValues AllHeaders(IHeaderDictionary headers)
    {
        var all = new List<string>(headers.Count);
        foreach (var (name, values) in headers)
        {
            if (!PerHopHeaders.Contains(name))
            {
                all.Add(name.ToLowerInvariant() + ":" + values.ToString());
            }
        }

        all.Sort(StringComparer.Ordinal);
        return all.ToArray();
    }

    private static void Add(ref List<RequestInput>? list, RequestInput input)
    {
        list ??= [];
        if (!list.Contains(input))
        {
            list.Add(input);
        }
    }

    /// <summary>A feature collection holding only the request feature as the server made it.</summary>
    private ServerRequestOnly Unrecorded() => new(_request);

    /// <summary>
    /// The request feature alone, read-only, for ASP.NET's query and cookie parsers: one small object, where a
    /// <see cref="FeatureCollection"/> makes a dictionary at its first <c>Set</c> (a request that reads its query pays
    /// for this one).
    /// </summary>
    private sealed class ServerRequestOnly(IHttpRequestFeature request) : IFeatureCollection
    {
        public bool IsReadOnly => true;

        public int Revision => 0;

        public object? this[Type key]
        {
            get => key == typeof(IHttpRequestFeature) ? request : null;
            set => throw new NotSupportedException("The server's request feature, read-only.");
        }

        public TFeature? Get<TFeature>() => typeof(TFeature) == typeof(IHttpRequestFeature) ? (TFeature)request : default;

        public void Set<TFeature>(TFeature? instance) => throw new NotSupportedException("The server's request feature, read-only.");

        public IEnumerator<KeyValuePair<Type, object>> GetEnumerator()
        {
            yield return new(typeof(IHttpRequestFeature), request);
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
