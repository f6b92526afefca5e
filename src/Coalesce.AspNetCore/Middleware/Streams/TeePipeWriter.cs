using System.IO.Pipelines;

namespace Coalesce.AspNetCore;

/// <summary>
/// The response writer the leader writes to. It hands out the server's own buffers, so writes cost no extra
/// copy to the client; on <see cref="Advance"/> it copies the committed bytes into the capture.
/// </summary>
internal sealed class TeePipeWriter(PipeWriter inner, ResponseCapture capture) : PipeWriter
{
    private Memory<byte> _lastBuffer;

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes)
    {
        capture.BeforeOutput();
        capture.Append(_lastBuffer.Span[..bytes]);
        _lastBuffer = default;
        inner.Advance(bytes);
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => _lastBuffer = inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => (_lastBuffer = inner.GetMemory(sizeHint)).Span;

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        capture.BeforeOutput();
        return capture.AfterOutput(inner.FlushAsync(cancellationToken));
    }

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        capture.BeforeOutput();
        capture.Append(source.Span);
        return capture.AfterOutput(inner.WriteAsync(source, cancellationToken));
    }

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null)
    {
        capture.BeforeOutput();
        inner.Complete(exception);
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        capture.BeforeOutput();
        return inner.CompleteAsync(exception);
    }
}
