using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Coalesce.AspNetCore;

/// <summary>
/// What a keyed request asked for, as one SHA-256: method, path base, path, query, the content headers
/// (<c>Content-Type</c>, <c>Content-Encoding</c>, <c>Content-Language</c>) and the body's bytes as sent. The same key
/// with another fingerprint is another request, answered 422.
/// </summary>
/// <remarks>
/// The body is hashed as it streams in and kept for the endpoint to read again: up to
/// <see cref="RequestCoalescingOptions.IdempotencyBodyMemoryThreshold"/> in pooled memory, the rest in a temporary
/// file (ASP.NET's <c>Request.EnableBuffering</c>, which deletes the file when the request ends). The server's request
/// body limit bounds the whole.
/// </remarks>
internal static class RequestFingerprint
{
    private const int ChunkBytes = 16 * 1024;

    public static async Task<byte[]> ComputeAsync(HttpContext context, int memoryThreshold)
    {
        var request = context.Request;
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var head = new StringBuilder(256);
        Add(head, request.Method);
        Add(head, request.PathBase.Value);
        Add(head, request.Path.Value);
        Add(head, request.QueryString.Value);
        Add(head, request.Headers[HeaderNames.ContentType].ToString());
        Add(head, request.Headers[HeaderNames.ContentEncoding].ToString());
        Add(head, request.Headers[HeaderNames.ContentLanguage].ToString());
        hash.AppendData(Encoding.UTF8.GetBytes(head.ToString()));

        request.EnableBuffering(memoryThreshold);
        var body = request.Body;
        var chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            int read;
            while ((read = await body.ReadAsync(chunk.AsMemory(0, ChunkBytes), context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        body.Position = 0;
        return hash.GetHashAndReset();
    }

    private static void Add(StringBuilder text, string? value) =>
        text.Append(value?.Length ?? -1).Append(':').Append(value).Append('\n');
}
