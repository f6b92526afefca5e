using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Coalesce.AspNetCore;

/// <summary>
/// Stands in for the leader's <see cref="IHttpResponseBodyFeature"/> while its pipeline runs. Whatever way the
/// app writes (<c>Body</c>, <c>BodyWriter</c>, <c>SendFileAsync</c>), the bytes reach the leader's client as
/// usual and a copy lands in <see cref="Buffer"/>, up to the configured limit.
/// </summary>
internal sealed class ResponseCapture(IHttpResponseBodyFeature original, long limit) : IHttpResponseBodyFeature, IDisposable
{
    private TeeStream? _stream;
    private TeePipeWriter? _writer;

    public CaptureBuffer Buffer { get; } = new(limit);

    /// <summary>Whether the response sent a file: files are shared with followers but never memoized.</summary>
    public bool SentFile { get; private set; }

    /// <summary>Set by the endpoint filter when the handler's result is a stream or other one-shot source.</summary>
    public bool NotReplayable { get; set; }

    public Stream Stream => _stream ??= new TeeStream(original.Stream, Buffer);

    public PipeWriter Writer => _writer ??= new TeePipeWriter(original.Writer, Buffer);

    public void DisableBuffering() => original.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => original.StartAsync(cancellationToken);

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        SentFile = true;
        return SendFileFallback.SendFileAsync(Stream, path, offset, count, cancellationToken);
    }

    public Task CompleteAsync() => original.CompleteAsync();

    public void Dispose() => Buffer.Dispose();
}
