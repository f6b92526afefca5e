namespace Coalesce.AspNetCore;

/// <summary>
/// A request copied once, before its first attempt — method, URI, version, headers, options and the content's bytes
/// and headers — so every attempt and every fallback address sends a fresh <see cref="HttpRequestMessage"/>: a
/// content stream is never sent twice, and the caller may dispose its own request while a shared call still runs.
/// </summary>
internal sealed class HttpRequestSnapshot
{
    private readonly HttpMethod _method;
    private readonly Uri? _requestUri;
    private readonly Version _version;
    private readonly HttpVersionPolicy _versionPolicy;
    private readonly KeyValuePair<string, string[]>[] _headers;
    private readonly KeyValuePair<string, object?>[] _options;
    private readonly byte[]? _content;
    private readonly KeyValuePair<string, string[]>[] _contentHeaders;

    private HttpRequestSnapshot(HttpRequestMessage request, byte[]? content)
    {
        _method = request.Method;
        _requestUri = request.RequestUri;
        _version = request.Version;
        _versionPolicy = request.VersionPolicy;
        _headers = BufferedHttpResponse.Copy(request.Headers);
        _options = [.. request.Options];
        _content = content;
        _contentHeaders = request.Content is null ? [] : BufferedHttpResponse.Copy(request.Content.Headers);
    }

    /// <summary>Copies a request without content (coalesced GET and HEAD requests have none).</summary>
    public static HttpRequestSnapshot WithoutContent(HttpRequestMessage request) => new(request, content: null);

    /// <summary>Copies a request, reading its content (if any) once into memory.</summary>
    public static async Task<HttpRequestSnapshot> CreateAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var content = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return new HttpRequestSnapshot(request, content);
    }

    /// <summary>
    /// A fresh request for one attempt. With <paramref name="baseAddress"/>, the URI's scheme, host and port are
    /// replaced by it (path and query kept) and an explicit <c>Host</c> header is left out.
    /// </summary>
    public HttpRequestMessage CreateRequest(Uri? baseAddress)
    {
        var uri = _requestUri;
        if (baseAddress is not null && uri is { IsAbsoluteUri: true })
        {
            uri = new UriBuilder(uri) { Scheme = baseAddress.Scheme, Host = baseAddress.Host, Port = baseAddress.Port }.Uri;
        }

        var request = new HttpRequestMessage(_method, uri) { Version = _version, VersionPolicy = _versionPolicy };
        foreach (var (name, values) in _headers)
        {
            if (baseAddress is not null && name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            request.Headers.TryAddWithoutValidation(name, values);
        }

        var options = (IDictionary<string, object?>)request.Options;
        foreach (var (name, value) in _options)
        {
            options[name] = value;
        }

        if (_content is not null)
        {
            request.Content = new ByteArrayContent(_content);
            foreach (var (name, values) in _contentHeaders)
            {
                request.Content.Headers.TryAddWithoutValidation(name, values);
            }
        }

        return request;
    }
}
