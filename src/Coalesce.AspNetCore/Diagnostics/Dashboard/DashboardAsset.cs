using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// One file of the page embedded in the assembly (no CDN, nothing on disk): its bytes, its content type and a strong
/// ETag from its content. Served private and immutable, since the page links it with its version in the query.
/// </summary>
internal sealed class DashboardAsset
{
    private const string ResourcePrefix = "Coalesce.Dashboard.";

    private DashboardAsset(byte[] content, string contentType)
    {
        Content = content;
        ContentType = contentType;
        Version = Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 8));
        ETag = $"\"{Version}\"";
    }

    public byte[] Content { get; }

    public string ContentType { get; }

    /// <summary>A short hash of the content, which the page puts in the asset's URL.</summary>
    public string Version { get; }

    public string ETag { get; }

    /// <summary>Reads an embedded file of the page.</summary>
    public static DashboardAsset Load(string fileName, string contentType)
    {
        using var stream = typeof(DashboardAsset).Assembly.GetManifestResourceStream(ResourcePrefix + fileName)
            ?? throw new InvalidOperationException($"The dashboard's embedded file '{fileName}' is missing from {typeof(DashboardAsset).Assembly.GetName().Name}.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return new DashboardAsset(copy.ToArray(), contentType);
    }

    /// <summary>Reads an embedded text file (the page's template).</summary>
    public static string LoadText(string fileName) => System.Text.Encoding.UTF8.GetString(Load(fileName, "text/plain").Content);

    /// <summary>Answers with the file, or 304 when the client holds this version.</summary>
    public Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.ETag = ETag;
        response.Headers.CacheControl = "private, max-age=31536000, immutable";
        if (context.Request.Headers.IfNoneMatch.Any(value => value is not null && value.Split(',').Any(tag => tag.Trim() == ETag || tag.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = ContentType;
        response.ContentLength = Content.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(Content, context.RequestAborted).AsTask();
    }

    /// <summary>The headers every answer of the dashboard carries: a strict policy, no sniffing, no framing, no referrer.</summary>
    public static void AddSecurityHeaders(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }

    /// <summary>
    /// Only the dashboard's own script, styles and data: no inline script or style, nothing from elsewhere, never in a frame.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}
