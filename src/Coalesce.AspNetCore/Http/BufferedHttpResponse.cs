using System.Net;
using System.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// An upstream response read to the end: status, version, reason, headers, content headers and body bytes — the
/// outbound analogue of <see cref="CapturedResponse"/>. Immutable, so every coalesced caller and every memoized hit
/// gets its own <see cref="HttpResponseMessage"/> over the same bytes without copying them.
/// </summary>
internal sealed class BufferedHttpResponse : ICacheSizeAware
{
    private BufferedHttpResponse(
        HttpStatusCode statusCode, Version version, string? reasonPhrase,
        KeyValuePair<string, string[]>[] headers, KeyValuePair<string, string[]>[] contentHeaders, byte[] body)
    {
        StatusCode = statusCode;
        Version = version;
        ReasonPhrase = reasonPhrase;
        Headers = headers;
        ContentHeaders = contentHeaders;
        Body = body;
    }

    public HttpStatusCode StatusCode { get; }

    public Version Version { get; }

    public string? ReasonPhrase { get; }

    public KeyValuePair<string, string[]>[] Headers { get; }

    public KeyValuePair<string, string[]>[] ContentHeaders { get; }

    public byte[] Body { get; }

    public bool SetsCookie => Array.Exists(Headers, h => h.Key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase));

    public long ApproximateSize
    {
        get
        {
            long size = Body.Length + 96;
            foreach (var (name, values) in Headers.Concat(ContentHeaders))
            {
                size += name.Length * sizeof(char) + 32;
                foreach (var value in values)
                {
                    size += value.Length * sizeof(char) + 24;
                }
            }

            return size;
        }
    }

    /// <summary>Copies the parts of <paramref name="response"/>, whose content is <paramref name="body"/>.</summary>
    public static BufferedHttpResponse From(HttpResponseMessage response, byte[] body) =>
        new(response.StatusCode, response.Version, response.ReasonPhrase, Copy(response.Headers), Copy(response.Content.Headers), body);

    /// <summary>A new response of the caller's own, with its own content over the shared bytes.</summary>
    public HttpResponseMessage ToResponse(HttpRequestMessage request)
    {
        var response = new HttpResponseMessage(StatusCode)
        {
            Version = Version,
            ReasonPhrase = ReasonPhrase,
            RequestMessage = request,
            Content = new ByteArrayContent(Body),
        };
        foreach (var (name, values) in Headers)
        {
            response.Headers.TryAddWithoutValidation(name, values);
        }

        foreach (var (name, values) in ContentHeaders)
        {
            response.Content.Headers.TryAddWithoutValidation(name, values);
        }

        return response;
    }

    internal static KeyValuePair<string, string[]>[] Copy(HttpHeaders headers)
    {
        var copy = new List<KeyValuePair<string, string[]>>();
        foreach (var (name, values) in headers.NonValidated)
        {
            var all = new string[values.Count];
            var i = 0;
            foreach (var value in values)
            {
                all[i++] = value;
            }

            copy.Add(new(name, all));
        }

        return [.. copy];
    }
}
