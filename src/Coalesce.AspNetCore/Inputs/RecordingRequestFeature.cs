using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>The server's request feature, with reads of the headers, the raw query and the protocol recorded.</summary>
internal sealed class RecordingRequestFeature(IHttpRequestFeature inner, RequestInputs inputs) : IHttpRequestFeature
{
    private IHeaderDictionary? _headers;
    private IHeaderDictionary? _wrapped;

    public string Protocol
    {
        get
        {
            inputs.Read(RequestInput.Protocol);
            return inner.Protocol;
        }
        set => inner.Protocol = value;
    }

    public string Scheme { get => inner.Scheme; set => inner.Scheme = value; }

    public string Method { get => inner.Method; set => inner.Method = value; }

    public string PathBase { get => inner.PathBase; set => inner.PathBase = value; }

    public string Path { get => inner.Path; set => inner.Path = value; }

    public string QueryString
    {
        get
        {
            inputs.Read(RequestInput.AllQuery);
            return inner.QueryString;
        }
        set => inner.QueryString = value;
    }

    public string RawTarget { get => inner.RawTarget; set => inner.RawTarget = value; }

    public IHeaderDictionary Headers
    {
        get
        {
            var headers = inner.Headers;
            if (!ReferenceEquals(headers, _headers))
            {
                _headers = headers;
                _wrapped = new RecordingHeaders(headers, inputs);
            }

            return _wrapped!;
        }
        set => inner.Headers = value;
    }

    public Stream Body { get => inner.Body; set => inner.Body = value; }
}
