namespace Coalesce.AspNetCore;

/// <summary>The response stream the leader writes to: every byte goes to its client and into the capture.</summary>
internal sealed class TeeStream(Stream inner, ResponseCapture capture) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
        capture.BeforeOutput();
        inner.Flush();
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        capture.BeforeOutput();
        return inner.FlushAsync(cancellationToken);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        // The server decides whether synchronous writes are allowed; capture only what it accepted.
        capture.BeforeOutput();
        inner.Write(buffer);
        capture.Append(buffer);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        capture.BeforeOutput();
        capture.Append(buffer.Span);
        return inner.WriteAsync(buffer, cancellationToken);
    }
}
